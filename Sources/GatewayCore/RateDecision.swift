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
    /// The backend could not answer and a limit asked fails closed: refused. The caller logs it.
    case failedClosed(reason: String)

    /// How long a client refused because the limits could not be checked is told to wait.
    public static let unavailableRetryAfterMillis = 1000

    public var isAllowed: Bool {
        switch self {
        case .allowed, .failedOpen: true
        case .refused, .failedClosed: false
        }
    }

    /// For the `rate_limited` error; nil when allowed.
    public var retryAfterMillis: Int? {
        switch self {
        case .allowed, .failedOpen: nil
        case .refused(_, let millis): millis
        case .failedClosed: Self.unavailableRetryAfterMillis
        }
    }

    /// The decision when the backend failed with `reason`: open only if every limit asked is.
    public static func failure(_ reason: String, for requests: [RateLimitRequest]) -> RateDecision {
        requests.allSatisfy(\.rule.failOpen) ? .failedOpen(reason: reason) : .failedClosed(reason: reason)
    }
}
