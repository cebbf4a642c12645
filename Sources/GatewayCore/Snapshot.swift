/// The transcript as one frame, sent on `join` when the log no longer holds the client's position.
/// It takes no seq of its own: `seq` is the last event it covers, and live events continue after it.
public struct Snapshot: Sendable, Equatable {
    public var session: String
    public var seq: Int
    public var entries: [Transcript.Entry]

    public init(session: String, seq: Int, entries: [Transcript.Entry]) {
        self.session = session
        self.seq = seq
        self.entries = entries
    }

    func write(to json: inout JSONWriter) {
        json.field("type", "snapshot")
        json.field("session", session)
        json.field("seq", seq)
        json.beginArray("messages")
        for entry in entries {
            json.beginObject()
            json.field("id", entry.id)
            json.field("role", entry.role.rawValue)
            json.field("author", entry.author)
            json.field("text", entry.text)
            json.fieldIfPresent("turn", entry.turn)
            json.fieldIfPresent("model", entry.model)
            if entry.role == .assistant { json.field("streaming", entry.streaming) }
            json.fieldIfPresent("finish", entry.finish?.rawValue)
            json.endObject()
        }
        json.endArray()
    }
}
