/// How a turn ended (`turn.end.finish`).
public enum TurnFinish: String, Sendable, Equatable {
    case stop, length, cancelled, error
}

/// What a session event says; the seq and timestamp are given by the log.
public enum SessionEventBody: Sendable, Equatable {
    case message(id: String, author: String, text: String)
    /// `route` says why the model was chosen (routing rules); `cached` marks a reply served from the
    /// response cache.
    case turnStart(turn: String, model: String, route: String? = nil, cached: Bool = false)
    case turnDelta(turn: String, text: String)
    case turnEnd(turn: String, finish: TurnFinish, usage: TokenUsage, upstreamFinish: String?, error: TurnError?)

    public var typeName: String {
        switch self {
        case .message: return "message"
        case .turnStart: return "turn.start"
        case .turnDelta: return "turn.delta"
        case .turnEnd: return "turn.end"
        }
    }
}

/// One entry of a session's log, encoded to its wire frame once, when it is appended, and shared by
/// every subscriber and every replay.
public struct SessionEvent: Sendable, Equatable {
    public let session: String
    public let seq: Int
    /// Server time of the append, in ms since the Unix epoch (lets clients measure delivery latency).
    public let timestamp: Int
    public let body: SessionEventBody
    public let encoded: [UInt8]

    public init(session: String, seq: Int, timestamp: Int, body: SessionEventBody) {
        self.session = session
        self.seq = seq
        self.timestamp = timestamp
        self.body = body
        self.encoded = SessionEvent.encode(session: session, seq: seq, fromSeq: nil, timestamp: timestamp, body: body)
    }

    /// The verbatim frame of an event encoded elsewhere (decoded from the wire, or numbered and
    /// stamped by Redis from a `SessionEventFrameTemplate`): `encoded` is kept as received, so every
    /// node relays the same bytes.
    init(session: String, seq: Int, timestamp: Int, body: SessionEventBody, encoded: [UInt8]) {
        self.session = session
        self.seq = seq
        self.timestamp = timestamp
        self.body = body
        self.encoded = encoded
    }

    /// The wire frame; `fromSeq` is set on a frame that merges the deltas `fromSeq...seq`.
    public static func encode(session: String, seq: Int, fromSeq: Int?, timestamp: Int, body: SessionEventBody) -> [UInt8] {
        var json = JSONWriter(capacity: 96)
        json.beginObject()
        json.field("type", body.typeName)
        json.field("session", session)
        json.field("seq", seq)
        writeFields(of: body, fromSeq: fromSeq, to: &json)
        json.field("ts", timestamp)
        json.endObject()
        return json.bytes
    }

    /// What lies between `seq` and `ts`: the body's own fields, in the order docs/protocol.md lists them.
    static func writeFields(of body: SessionEventBody, fromSeq: Int?, to json: inout JSONWriter) {
        switch body {
        case .message(let id, let author, let text):
            json.field("id", id)
            json.field("role", "user")
            json.field("author", author)
            json.field("text", text)
        case .turnStart(let turn, let model, let route, let cached):
            json.field("turn", turn)
            json.field("model", model)
            json.fieldIfPresent("route", route)
            if cached { json.field("cached", true) }
        case .turnDelta(let turn, let text):
            json.field("turn", turn)
            json.field("text", text)
            json.fieldIfPresent("from_seq", fromSeq)
        case .turnEnd(let turn, let finish, let usage, let upstreamFinish, let error):
            json.field("turn", turn)
            json.field("finish", finish.rawValue)
            json.beginObject("usage")
            json.field("input_tokens", usage.inputTokens)
            json.field("output_tokens", usage.outputTokens)
            json.field("estimated", usage.estimated)
            if usage.cached { json.field("cached", true) }
            json.endObject()
            json.fieldIfPresent("upstream_finish", upstreamFinish)
            if let error {
                json.beginObject("error")
                json.field("code", error.code)
                json.field("message", error.message)
                json.endObject()
            }
        }
    }
}
