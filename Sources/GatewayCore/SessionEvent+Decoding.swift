/// Why a frame is not a session event.
public struct SessionEventDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { "not a session event frame: \(reason)" }
}

extension SessionEvent {
    /// Reads a session event back from its wire frame, keeping `frame` verbatim as `encoded`: a node
    /// that mirrors a shared log relays exactly the bytes the appender published, so subscribers on
    /// every node see the same frames. A merged frame (`from_seq`) is refused, since no log holds one.
    public init(decoding frame: [UInt8]) throws(SessionEventDecodingError) {
        let value: JSONValue
        do { value = try JSONValue.parse(frame) } catch { throw SessionEventDecodingError(reason: error.description) }
        guard case .object(let fields) = value else { throw SessionEventDecodingError(reason: "not a JSON object") }
        let reader = FieldReader(fields: fields)
        let type = try reader.string("type")
        let body: SessionEventBody
        switch type {
        case "message":
            guard try reader.string("role") == "user" else { throw SessionEventDecodingError(reason: "role is not user") }
            body = .message(id: try reader.string("id"), author: try reader.string("author"), text: try reader.string("text"))
        case "turn.start":
            body = .turnStart(turn: try reader.string("turn"), model: try reader.string("model"),
                              route: try reader.optionalString("route"), cached: try reader.optionalBool("cached") ?? false)
        case "turn.delta":
            guard fields["from_seq"] == nil else { throw SessionEventDecodingError(reason: "a merged delta is not a log event") }
            body = .turnDelta(turn: try reader.string("turn"), text: try reader.string("text"))
        case "turn.end":
            let usage = FieldReader(fields: try reader.object("usage"), path: "usage.")
            let tokens = TokenUsage(inputTokens: try usage.int("input_tokens"), outputTokens: try usage.int("output_tokens"),
                                    estimated: try usage.bool("estimated"), cached: try usage.optionalBool("cached") ?? false)
            guard let finish = TurnFinish(rawValue: try reader.string("finish")) else {
                throw SessionEventDecodingError(reason: "unknown finish")
            }
            var error: TurnError?
            if fields["error"] != nil {
                let detail = FieldReader(fields: try reader.object("error"), path: "error.")
                error = TurnError(code: try detail.string("code"), message: try detail.string("message"))
            }
            body = .turnEnd(turn: try reader.string("turn"), finish: finish, usage: tokens,
                            upstreamFinish: try reader.optionalString("upstream_finish"), error: error)
        default:
            throw SessionEventDecodingError(reason: "unknown type \(type)")
        }
        self.init(session: try reader.string("session"), seq: try reader.int("seq"), timestamp: try reader.int("ts"),
                  body: body, encoded: frame)
    }
}

/// Typed access to a frame's members, naming the field that is missing or mistyped.
private struct FieldReader {
    let fields: [String: JSONValue]
    var path = ""

    func string(_ key: String) throws(SessionEventDecodingError) -> String {
        guard let value = try optionalString(key) else { throw missing(key) }
        return value
    }

    func optionalString(_ key: String) throws(SessionEventDecodingError) -> String? {
        switch fields[key] {
        case nil: return nil
        case .string(let value)?: return value
        default: throw mistyped(key)
        }
    }

    func int(_ key: String) throws(SessionEventDecodingError) -> Int {
        switch fields[key] {
        case nil: throw missing(key)
        case .int(let value)?: return value
        default: throw mistyped(key)
        }
    }

    func bool(_ key: String) throws(SessionEventDecodingError) -> Bool {
        guard let value = try optionalBool(key) else { throw missing(key) }
        return value
    }

    func optionalBool(_ key: String) throws(SessionEventDecodingError) -> Bool? {
        switch fields[key] {
        case nil: return nil
        case .bool(let value)?: return value
        default: throw mistyped(key)
        }
    }

    func object(_ key: String) throws(SessionEventDecodingError) -> [String: JSONValue] {
        switch fields[key] {
        case nil: throw missing(key)
        case .object(let members)?: return members
        default: throw mistyped(key)
        }
    }

    private func missing(_ key: String) -> SessionEventDecodingError { SessionEventDecodingError(reason: "no \(path)\(key)") }
    private func mistyped(_ key: String) -> SessionEventDecodingError { SessionEventDecodingError(reason: "\(path)\(key) has the wrong type") }
}
