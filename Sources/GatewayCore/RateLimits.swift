/// The `limits` section: rate limits per user, tenant and client address, shared by every node
/// when they share a `RateLimiter` (docs/protocol.md, `rate_limited`). Each limit is a GCRA
/// bucket: `perMinute` units paid back per minute, up to `burst` at once; nil is no limit.
///
/// Defaults are for a chat widget: a person sends a few messages a minute (20, and 10 in a row
/// for quick corrections), a reply with its history costs a few thousand tokens (40,000 a minute
/// per user), a page opens one connection and a reload or a few tabs a few more (60 a minute per
/// address, 30 at once). Tenants are not limited unless configured.
public struct RateLimits: Sendable, Equatable {
    public struct Rate: Sendable, Equatable {
        public var perMinute: Int
        public var burst: Int
        public init(perMinute: Int, burst: Int) {
            self.perMinute = perMinute
            self.burst = burst
        }

        public var gcra: GCRA { GCRA(rate: perMinute, burst: burst) }
    }

    /// What a limit does when its backend cannot answer (Redis down, slow or erroring): let the
    /// request through (true) or refuse it (false).
    public struct FailOpen: Sendable, Equatable {
        public var messages = true
        /// Closed: with the shared count unknown, LLM spend is not let run unchecked.
        public var llmTokens = false
        public var connections = true
        public init(messages: Bool = true, llmTokens: Bool = false, connections: Bool = true) {
            self.messages = messages
            self.llmTokens = llmTokens
            self.connections = connections
        }
    }

    public var messagesPerUser: Rate? = Rate(perMinute: 20, burst: 10)
    /// Token buckets hold a minute's worth: `burst == perMinute`.
    public var llmTokensPerUser: Rate? = Rate(perMinute: 40_000, burst: 40_000)
    public var llmTokensPerTenant: Rate? = nil
    public var connectionsPerIP: Rate? = Rate(perMinute: 60, burst: 30)
    /// Output tokens reserved per turn at admission, on top of the input's estimate; the real
    /// usage settles the difference when the turn ends.
    public var llmOutputReserveTokens = 512
    public var failOpen = FailOpen()

    public init() {}

    /// No limit at all (tests and benchmarks that drive faster than people do).
    public static let unlimited: RateLimits = {
        var limits = RateLimits()
        limits.messagesPerUser = nil
        limits.llmTokensPerUser = nil
        limits.llmTokensPerTenant = nil
        limits.connectionsPerIP = nil
        return limits
    }()

    /// Reads `limits`. An absent key keeps its default; a rate key set to null is no limit (as
    /// `budgets.default_cost_per_day` is), so a default limit can be switched off.
    static func parse(_ section: ConfigSection) throws(ConfigError) -> RateLimits {
        try section.rejectUnknownKeys(allowed: ["messages_per_minute", "message_burst", "llm_tokens_per_minute_per_user",
                                                "llm_tokens_per_minute_per_tenant", "llm_output_reserve_tokens",
                                                "connections_per_minute_per_ip", "connection_burst", "fail_open"])
        var limits = RateLimits()
        let messageBurst = try section.int("message_burst", default: limits.messagesPerUser!.burst, range: 1...100_000)
        limits.messagesPerUser = try rate(section, "messages_per_minute", default: limits.messagesPerUser,
                                          range: 1...100_000) { Rate(perMinute: $0, burst: messageBurst) }
        limits.llmTokensPerUser = try rate(section, "llm_tokens_per_minute_per_user", default: limits.llmTokensPerUser,
                                           range: 1...maxTokensPerMinute) { Rate(perMinute: $0, burst: $0) }
        limits.llmTokensPerTenant = try rate(section, "llm_tokens_per_minute_per_tenant", default: limits.llmTokensPerTenant,
                                             range: 1...maxTokensPerMinute) { Rate(perMinute: $0, burst: $0) }
        limits.llmOutputReserveTokens = try section.int("llm_output_reserve_tokens", default: limits.llmOutputReserveTokens,
                                                        range: 0...1_000_000)
        let connectionBurst = try section.int("connection_burst", default: limits.connectionsPerIP!.burst, range: 1...100_000)
        limits.connectionsPerIP = try rate(section, "connections_per_minute_per_ip", default: limits.connectionsPerIP,
                                           range: 1...1_000_000) { Rate(perMinute: $0, burst: connectionBurst) }

        let failOpen = try ConfigSection(section.raw("fail_open"), path: section.key("fail_open"))
        try failOpen.rejectUnknownKeys(allowed: ["messages", "llm_tokens", "connections"])
        limits.failOpen.messages = try failOpen.bool("messages", default: limits.failOpen.messages)
        limits.failOpen.llmTokens = try failOpen.bool("llm_tokens", default: limits.failOpen.llmTokens)
        limits.failOpen.connections = try failOpen.bool("connections", default: limits.failOpen.connections)
        return limits
    }

    /// 10 million a minute is 6 µs a token: GCRA's whole-microsecond increments stay within a
    /// fraction of a percent for requests of a hundred tokens and more.
    public static let maxTokensPerMinute = 10_000_000

    private static func rate(_ section: ConfigSection, _ name: String, default value: Rate?, range: ClosedRange<Int>,
                             make: (Int) -> Rate) throws(ConfigError) -> Rate? {
        switch section.raw(name) {
        case nil: return value.map { make($0.perMinute) }
        case .null?: return nil
        default: return try section.optionalInt(name, range: range).map(make)
        }
    }
}
