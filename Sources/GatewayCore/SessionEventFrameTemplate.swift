/// A session event's wire frame with its seq and ts left out: `head` + seq + `middle` + ts + `}` is,
/// byte for byte, `SessionEvent.encode` of the same values (without `from_seq`, which only merged
/// frames carry and no log holds).
///
/// Why: on a shared log the seq and the timestamp are only known inside the store's atomic append
/// (Redis's INCR and TIME in a Lua script), while the JSON is best written here, once, by the same
/// writer as every other frame. The script splices two decimal numbers in and never parses JSON.
public struct SessionEventFrameTemplate: Sendable, Equatable {
    /// Up to and including `"seq":`.
    public let head: [UInt8]
    /// From the comma after the seq up to and including `"ts":`.
    public let middle: [UInt8]
    public static let tail: [UInt8] = [UInt8(ascii: "}")]

    public init(session: String, body: SessionEventBody) {
        var json = JSONWriter(capacity: 96)
        json.beginObject()
        json.field("type", body.typeName)
        json.field("session", session)
        json.key("seq")
        let seqAt = json.bytes.count
        SessionEvent.writeFields(of: body, fromSeq: nil, to: &json)
        json.key("ts")
        let bytes = json.bytes
        head = Array(bytes[..<seqAt])
        middle = Array(bytes[seqAt...])
    }

    /// The frame as the store completes it (what tests compare with `SessionEvent.encode`).
    public func frame(seq: Int, timestamp: Int) -> [UInt8] {
        head + Array(String(seq).utf8) + middle + Array(String(timestamp).utf8) + Self.tail
    }
}
