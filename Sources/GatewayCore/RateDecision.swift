/// What a `RateLimiter` answered for a set of requests.
public enum RateDecision: Sendable, Equatable {
    /// Every bucket had room; each took its cost.
    case allowed
    /// `limit` had no room; no bucket took anything. `retryAfterMillis` is when the same request
    /// would pass (the longest wait of the buckets that refused).
    case refused(RateLimitName, retryAfterMillis: Int)
    /// The backend could not answer (`reason`) and every limit asked fails open: let through,
    /// uncounted. The caller logs it.
    case failedOpen(reason: String)
    /// The backend could not answer and a limit asked fails closed: refused (the client is told
    /// `unavailable`, not `rate_limited`: no limit was reached). The caller logs it.
    case failedClosed(reason: String)

    public var isAllowed: Bool {
        switch self {
        case .allowed, .failedOpen: true
        case .refused, .failedClosed: false
        }
    }

    /// The client's error for a decision that is not allowed: `rate_limited` with its wait, or
    /// `unavailable` when the limits could not be checked. Nil when allowed.
    public var protocolError: ProtocolError? {
        switch self {
        case .allowed, .failedOpen: nil
        case .refused(let limit, let millis): .rateLimited(limit, retryAfterMillis: millis)
        case .failedClosed: .unavailable("rate limits cannot be checked right now; retry shortly")
        }
    }

    /// The decision when the backend failed with `reason`: open only if every limit asked is.
    public static func failure(_ reason: String, for requests: [RateLimitRequest]) -> RateDecision {
        requests.allSatisfy(\.rule.failOpen) ? .failedOpen(reason: reason) : .failedClosed(reason: reason)
    }
}
