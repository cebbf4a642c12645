import GatewayCore
import GatewayRedis

/// The replies of `SessionLogScripts`, read into Swift values. Pure, so the shapes are tested
/// without Redis; a reply of another shape (a script of another version) is an error, reported as
/// the store being unavailable rather than guessed at.
enum SessionScriptReplies {
    struct UnexpectedReply: Error, Sendable, CustomStringConvertible {
        let script: String
        let reply: RedisValue
        var description: String { "unexpected reply to the \(script) script: \(reply)" }
    }

    enum Check: Sendable, Equatable {
        case duplicate(ackSeq: Int)
        case busy
        /// Neither: the history the turn would be given.
        case history([ChatMessage])
    }

    static func check(_ reply: RedisValue) throws(UnexpectedReply) -> Check {
        guard let parts = reply.array, let code = parts.first?.integer else { throw UnexpectedReply(script: "check", reply: reply) }
        switch (code, parts.count) {
        case (1, 2):
            guard let ack = parts[1].integer else { break }
            return .duplicate(ackSeq: Int(ack))
        case (2, 1):
            return .busy
        case (0, _):
            let entries = parts.dropFirst().compactMap { $0.bytes.flatMap(transcriptEntry) }
            return .history(entries.map { ChatMessage(role: $0.role, content: $0.text) })
        default:
            break
        }
        throw UnexpectedReply(script: "check", reply: reply)
    }

    static func accept(_ reply: RedisValue) throws(UnexpectedReply) -> SessionState.MessageOutcome {
        guard let parts = reply.array, let code = parts.first?.integer else { throw UnexpectedReply(script: "accept", reply: reply) }
        switch (code, parts.count) {
        case (0, 2): if let ack = parts[1].integer { return .accepted(ackSeq: Int(ack)) }
        case (1, 2): if let ack = parts[1].integer { return .duplicate(ackSeq: Int(ack)) }
        case (2, 1): return .busy
        case (3, 1): return .overloaded
        default: break
        }
        throw UnexpectedReply(script: "accept", reply: reply)
    }

    /// The read script's reply. Frames that do not decode are left out: a seed then starts after the
    /// last of them (as if trimmed there), and an event list stops before the first of them.
    static func read(_ reply: RedisValue, session: String) throws(UnexpectedReply) -> SessionMirror.ReadResult {
        guard let parts = reply.array, parts.count == 2 || parts.count == 7,
              let seq = parts[0].integer.map(Int.init), let frames = parts[1].array else {
            throw UnexpectedReply(script: "read", reply: reply)
        }
        var events: [SessionEvent] = []
        for frame in frames {
            guard let bytes = frame.bytes, let event = try? SessionEvent(decoding: bytes) else {
                if parts.count == 2 { break }
                events = []
                continue
            }
            events.append(event)
        }
        if parts.count == 2 { return .events(events, lastSeq: seq) }
        guard let tx = parts[2].array, let turn = parts[3].string, let message = parts[4].string,
              let model = parts[5].string, let replyText = parts[6].string else {
            throw UnexpectedReply(script: "read", reply: reply)
        }
        var transcript = tx.compactMap { $0.bytes.flatMap(transcriptEntry) }
        var active: SessionState.ActiveTurn?
        if !turn.isEmpty {
            active = SessionState.ActiveTurn(turn: turn, messageID: message, model: model)
            transcript.append(Transcript.Entry(id: turn, role: .assistant, author: model, text: replyText, turn: turn,
                                               model: model, streaming: true))
        }
        return .seed(SessionState.ReplicaSeed(session: session, lastSeq: seq, events: events, transcript: transcript,
                                              activeTurn: active))
    }

    /// One entry of the `tx` list (the JSON of a snapshot's `messages` item); nil if it is not one.
    static func transcriptEntry(_ bytes: [UInt8]) -> Transcript.Entry? {
        guard case .object(let fields)? = try? JSONValue.parse(bytes),
              case .string(let id)? = fields["id"], case .string(let roleName)? = fields["role"],
              let role = ChatRole(rawValue: roleName), case .string(let author)? = fields["author"],
              case .string(let text)? = fields["text"] else { return nil }
        func string(_ key: String) -> String? {
            if case .string(let value)? = fields[key] { return value }
            return nil
        }
        var streaming = false
        if case .bool(let value)? = fields["streaming"] { streaming = value }
        return Transcript.Entry(id: id, role: role, author: author, text: text, turn: string("turn"), model: string("model"),
                                streaming: streaming, finish: string("finish").flatMap(TurnFinish.init(rawValue:)))
    }
}
