import GatewayCore

/// Recorded conversations to replay (bench/workloads/*.json): per-tenant system prompts, and for
/// each conversation its user turns with the length of a realistic reply.
public struct Workload: Sendable {
    public struct Turn: Sendable {
        public var user: String
        /// Output tokens the reply is billed for.
        public var replyTokens: Int
        /// The reply's text where the workload gives it; else the replay uses `filler`.
        public var reply: String?
    }

    public struct Conversation: Sendable {
        public var id: String
        public var tenant: String
        public var topic: String
        public var turns: [Turn]
    }

    public var systemPrompts: [String: String]
    public var conversations: [Conversation]

    public var turnCount: Int { conversations.reduce(0) { $0 + $1.turns.count } }

    public static func load(path: String) throws -> Workload {
        let document = try JSONFields.readDocument(path: path)
        do { return try parse(document) } catch { throw BenchError("\(path): \(error)") }
    }

    static func parse(_ document: JSONValue) throws(ConfigError) -> Workload {
        let root = try JSONFields(document, path: "")
        try root.rejectUnknownKeys(allowed: ["tenants", "conversations"])
        let tenants = try JSONFields(root.raw("tenants"), path: "tenants")
        var prompts: [String: String] = [:]
        for tenant in tenants.keys {
            let fields = try JSONFields(tenants.raw(tenant), path: tenants.key(tenant))
            try fields.rejectUnknownKeys(allowed: ["system_prompt"])
            prompts[tenant] = try fields.string("system_prompt")
        }
        var conversations: [Conversation] = []
        for (index, item) in try root.array("conversations").enumerated() {
            let fields = try JSONFields(item, path: "conversations[\(index)]")
            try fields.rejectUnknownKeys(allowed: ["id", "tenant", "topic", "turns"])
            let tenant = try fields.string("tenant")
            guard prompts[tenant] != nil else {
                throw ConfigError(key: fields.key("tenant"), problem: "'\(tenant)' is not in tenants")
            }
            var turns: [Turn] = []
            for (turnIndex, turnItem) in try fields.array("turns").enumerated() {
                let turn = try JSONFields(turnItem, path: fields.key("turns[\(turnIndex)]"))
                try turn.rejectUnknownKeys(allowed: ["user", "reply_tokens", "reply"])
                turns.append(Turn(user: try turn.string("user"), replyTokens: try turn.int("reply_tokens", range: 1...100_000),
                                  reply: try turn.optionalString("reply")))
            }
            guard !turns.isEmpty else { throw ConfigError(key: fields.key("turns"), problem: "must not be empty") }
            conversations.append(Conversation(id: try fields.string("id"), tenant: tenant,
                                              topic: try fields.optionalString("topic") ?? "", turns: turns))
        }
        return Workload(systemPrompts: prompts, conversations: conversations)
    }

    /// Stand-in reply text that estimates to exactly `tokens` tokens (4 ASCII bytes each), so the
    /// history weighs what the real reply would; tagged with its place so no two replies coincide.
    public static func filler(tokens: Int, conversation: String, turn: Int) -> String {
        let tag = "[reply \(conversation)#\(turn)] "
        let words = "Thanks for your patience, here is what you can do next. "
        var text = tag
        while text.utf8.count < tokens * TokenEstimator.bytesPerToken { text += words }
        return String(text.utf8.prefix(tokens * TokenEstimator.bytesPerToken).map { Character(Unicode.Scalar($0)) })
    }
}
