/// The gateway's rate limits. The raw value names the limit's buckets in every backend (Redis
/// keys are `PREFIX:rl:RAW:SUBJECT`), so it must not change between releases that share a Redis.
public enum RateLimitName: String, Sendable, CaseIterable {
    /// Messages a user may send (subject: the user).
    case messagesPerUser = "msg:user"
    /// LLM tokens a user's turns may use (subject: the user).
    case llmTokensPerUser = "tok:user"
    /// LLM tokens a tenant's turns may use (subject: the tenant).
    case llmTokensPerTenant = "tok:tenant"
    /// New WebSocket connections from one client address (subject: the address).
    case connectionsPerIP = "conn:ip"

    /// What a client is told in the `rate_limited` error's message.
    public var refusal: String {
        switch self {
        case .messagesPerUser: "too many messages from this user"
        case .llmTokensPerUser: "this user has used too many LLM tokens in the last minute"
        case .llmTokensPerTenant: "this tenant has used too many LLM tokens in the last minute"
        case .connectionsPerIP: "too many new connections from this address"
        }
    }
}

/// One configured limit: its buckets' GCRA and what it does when the backend cannot answer.
public struct RateLimitRule: Sendable, Equatable {
    public let name: RateLimitName
    public let gcra: GCRA
    public let failOpen: Bool

    public init(name: RateLimitName, gcra: GCRA, failOpen: Bool) {
        self.name = name
        self.gcra = gcra
        self.failOpen = failOpen
    }
}

/// `cost` units of `rule` for one subject (a user, a tenant, an address): one bucket.
public struct RateLimitRequest: Sendable, Equatable {
    public let rule: RateLimitRule
    public let subject: String
    public let cost: Int

    public init(rule: RateLimitRule, subject: String, cost: Int) {
        self.rule = rule
        self.subject = subject
        self.cost = cost
    }

    /// The bucket's identity in every backend: the limit and the subject.
    public var bucket: String { "\(rule.name.rawValue):\(subject)" }
}
