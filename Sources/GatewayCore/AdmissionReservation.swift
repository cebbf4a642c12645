/// What a message's admission took from the rate limits, carried with its turn so that the turn's
/// end settles it (`RateLimitPolicy.settlement`) or a refusal after admission refunds it.
public struct AdmissionReservation: Sendable, Equatable {
    public let user: String
    public let tenant: String
    /// 1 when the user's message bucket was charged, else 0.
    public let messages: Int
    /// Tokens reserved in the user's and tenant's token buckets (0 when neither limit is on, or
    /// when the check failed open and nothing may have been counted).
    public let tokens: Int

    public init(user: String, tenant: String, messages: Int, tokens: Int) {
        self.user = user
        self.tenant = tenant
        self.messages = messages
        self.tokens = tokens
    }

    /// The same reservation with nothing counted: a check that failed open let the message through
    /// uncounted, so there is nothing to refund and its turn's end charges the whole usage.
    public var uncounted: AdmissionReservation {
        AdmissionReservation(user: user, tenant: tenant, messages: 0, tokens: 0)
    }
}
