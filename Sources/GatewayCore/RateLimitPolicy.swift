/// Turns the configured `limits` into the requests a `RateLimiter` is asked: which buckets a new
/// connection, a message and its turn's end take from, and what they cost. Pure, so the whole
/// bookkeeping (reserve at admission, refund what was not used, settle with real usage) is tested
/// without a backend.
///
/// A message takes 1 from its user's message bucket and an estimate of its turn's tokens from the
/// user's and the tenant's token buckets, all or nothing. The estimate is the input tokens of what
/// is known before the session is read (the system prompt and the new message, by
/// `TokenEstimator`) plus `llmOutputReserveTokens`; the history it is sent with, and the real
/// output, are settled when the turn ends (`settlement`), so the buckets end up charged with the
/// real usage either way.
public struct RateLimitPolicy: Sendable, Equatable {
    public let limits: RateLimits

    public init(_ limits: RateLimits) {
        self.limits = limits
    }

    public func rule(_ name: RateLimitName) -> RateLimitRule? {
        let rate: RateLimits.Rate?
        let failOpen: Bool
        switch name {
        case .messagesPerUser: (rate, failOpen) = (limits.messagesPerUser, limits.failOpen.messages)
        case .llmTokensPerUser: (rate, failOpen) = (limits.llmTokensPerUser, limits.failOpen.llmTokens)
        case .llmTokensPerTenant: (rate, failOpen) = (limits.llmTokensPerTenant, limits.failOpen.llmTokens)
        case .connectionsPerIP: (rate, failOpen) = (limits.connectionsPerIP, limits.failOpen.connections)
        }
        return rate.map { RateLimitRule(name: name, gcra: $0.gcra, failOpen: failOpen) }
    }

    /// A new connection from `address`; none when the limit is off or the address unknown (an
    /// empty address would put every such client in one bucket).
    public func connection(from address: String) -> [RateLimitRequest] {
        guard !address.isEmpty else { return [] }
        return requests([(.connectionsPerIP, address, 1)])
    }

    /// Input tokens known at admission plus the output reserve (see the type's comment).
    public func tokenEstimate(systemPrompt: String, message: String) -> Int {
        TokenEstimator.inputTokens(of: [ChatMessage(role: .system, content: systemPrompt),
                                        ChatMessage(role: .user, content: message)]) + limits.llmOutputReserveTokens
    }

    /// What admitting a message reserves.
    public func reservation(user: String, tenant: String, estimatedTokens: Int) -> AdmissionReservation {
        AdmissionReservation(user: user, tenant: tenant, messages: rule(.messagesPerUser) == nil ? 0 : 1,
                             tokens: rule(.llmTokensPerUser) == nil && rule(.llmTokensPerTenant) == nil ? 0 : estimatedTokens)
    }

    /// The all-or-nothing check at admission.
    public func admission(_ reservation: AdmissionReservation) -> [RateLimitRequest] {
        requests(reservation, messages: reservation.messages, tokens: reservation.tokens)
    }

    /// Gives back everything admission took: the message was not appended (a repeated id, busy,
    /// overloaded, over budget), so it cost neither a message nor tokens.
    public func refund(_ reservation: AdmissionReservation) -> [RateLimitRequest] {
        requests(reservation, messages: -reservation.messages, tokens: -reservation.tokens)
    }

    /// The turn ended having used `usedTokens` (input and output; 0 for a cached reply or a turn
    /// cancelled in the queue): the token buckets are charged the difference to the reservation.
    public func settlement(_ reservation: AdmissionReservation, usedTokens: Int) -> [RateLimitRequest] {
        requests(reservation, messages: 0, tokens: max(0, usedTokens) - reservation.tokens)
    }

    private func requests(_ reservation: AdmissionReservation, messages: Int, tokens: Int) -> [RateLimitRequest] {
        requests([(.messagesPerUser, reservation.user, messages), (.llmTokensPerUser, reservation.user, tokens),
                  (.llmTokensPerTenant, reservation.tenant, tokens)])
    }

    /// Requests for the limits that are on; a zero cost changes nothing and is left out.
    private func requests(_ wanted: [(RateLimitName, String, Int)]) -> [RateLimitRequest] {
        wanted.compactMap { name, subject, cost in
            guard cost != 0, let rule = rule(name) else { return nil }
            return RateLimitRequest(rule: rule, subject: subject, cost: cost)
        }
    }
}
