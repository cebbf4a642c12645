/// Where rate-limit buckets live: in this process (`MemoryRateLimiter`, the embedded default) or
/// shared by every node (`RedisRateLimiter`, on Redis's clock). Both run `GCRA`.
///
/// Completion-based because the shared one waits for Redis: the memory one calls the completion
/// inline, before returning; the Redis one on its command thread, in the order the calls were made.
/// Each completion is called exactly once. The requests of one call name distinct buckets.
public protocol RateLimiter: Sendable {
    /// All or nothing: each bucket takes its request's cost only if every one of them has room
    /// (a negative cost is a refund and always has room). No requests: `.allowed` at once.
    func check(_ requests: [RateLimitRequest], completion: @escaping @Sendable (RateDecision) -> Void)

    /// Adds each cost unconditionally (`GCRA.settle`): positive is owed even past the burst,
    /// negative is refunded, never below a full bucket. Settles a reservation with real usage.
    /// The completion gets nil, or why the backend could not do it (the caller logs it).
    func settle(_ requests: [RateLimitRequest], completion: @escaping @Sendable (RateLimiterFailure?) -> Void)
}

/// Why a backend could not answer: Redis not connected, timed out, or erroring.
public struct RateLimiterFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "rate limiter unavailable: \(reason)" }
}
