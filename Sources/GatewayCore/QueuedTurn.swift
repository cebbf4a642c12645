/// A turn as it travels through the shared work queue (Redis mode): everything a worker on any
/// node needs to run it, encoded as JSON so the queue entry can be read in `redis-cli` too.
public struct QueuedTurn: Sendable, Equatable {
    public var session: String
    public var turn: String
    /// The logical model routing chose (`llm.models` key); workers resolve its deployments themselves.
    public var model: String
    /// System prompt, history and the new message, as the admitting node built them.
    public var messages: [ChatMessage]
    public var user: String
    public var tenant: String
    /// ms since the Unix epoch, when the message was admitted (queue wait and totals count from it).
    public var queuedAt: Int
    /// LLM tokens the admitting node reserved in the rate limits (`AdmissionReservation.tokens`),
    /// which the node that ends the turn settles against its real usage; 0 for none (absent in the
    /// JSON).
    public var reservedTokens: Int

    public init(session: String, turn: String, model: String, messages: [ChatMessage], user: String, tenant: String,
                queuedAt: Int, reservedTokens: Int = 0) {
        self.session = session
        self.turn = turn
        self.model = model
        self.messages = messages
        self.user = user
        self.tenant = tenant
        self.queuedAt = queuedAt
        self.reservedTokens = reservedTokens
    }

    public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    public func encode() -> [UInt8] {
        var json = JSONWriter(capacity: 256 + messages.reduce(0) { $0 + $1.content.utf8.count + 32 })
        json.beginObject()
        json.field("session", session)
        json.field("turn", turn)
        json.field("model", model)
        json.field("user", user)
        json.field("tenant", tenant)
        json.field("queued_at", queuedAt)
        if reservedTokens != 0 { json.field("reserved_tokens", reservedTokens) }
        json.beginArray("messages")
        for message in messages {
            json.beginObject()
            json.field("role", message.role.rawValue)
            json.field("content", message.content)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> QueuedTurn {
        let document: JSONValue
        do { document = try JSONValue.parse(bytes) } catch { throw DecodeError(description: "queued turn: \(error)") }
        func string(_ key: String) throws(DecodeError) -> String {
            guard case .string(let value)? = document[key] else { throw DecodeError(description: "queued turn: '\(key)' must be a string") }
            return value
        }
        guard case .int(let queuedAt)? = document["queued_at"] else {
            throw DecodeError(description: "queued turn: 'queued_at' must be an integer")
        }
        guard case .array(let items)? = document["messages"] else {
            throw DecodeError(description: "queued turn: 'messages' must be an array")
        }
        var reservedTokens = 0
        switch document["reserved_tokens"] {
        case nil: break
        case .int(let tokens)?: reservedTokens = tokens
        default: throw DecodeError(description: "queued turn: 'reserved_tokens' must be an integer")
        }
        var messages: [ChatMessage] = []
        messages.reserveCapacity(items.count)
        for item in items {
            guard case .string(let roleName)? = item["role"], let role = ChatRole(rawValue: roleName),
                  case .string(let content)? = item["content"] else {
                throw DecodeError(description: "queued turn: every message needs a role (system, user, assistant) and a content string")
            }
            messages.append(ChatMessage(role: role, content: content))
        }
        return QueuedTurn(session: try string("session"), turn: try string("turn"), model: try string("model"),
                          messages: messages, user: try string("user"), tenant: try string("tenant"), queuedAt: queuedAt,
                          reservedTokens: reservedTokens)
    }
}
