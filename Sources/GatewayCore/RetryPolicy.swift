/// How a turn retries and falls back before its first token (config `llm.retry`). After the first
/// token nothing is retried: the reply would change under the reader's eyes.
public struct RetryPolicy: Sendable, Equatable {
    /// All attempts, waits included, from the turn's first attempt; past it the turn ends with the
    /// last error. Keeps retries from stacking into minutes.
    public var budgetMillis = 20_000
    /// Tries on one deployment (the first included) before moving on.
    public var attemptsPerDeployment = 2
    /// Exponential backoff: base × 2^(try−1), capped, with jitter (half fixed, half random).
    public var baseBackoffMillis = 250
    public var maxBackoffMillis = 4_000
    /// A Retry-After longer than this is not waited for: the deployment cools down and the turn
    /// moves on to the next deployment or fallback.
    public var maxRetryAfterMillis = 10_000
    /// How long a deployment that answered 429 without Retry-After stays out for every worker.
    public var cooldownMillis = 5_000

    public init() {}

    /// The pause before try `attempt + 1` on the same deployment; `jitter` is in 0..<1.
    public func backoffMillis(afterTries tries: Int, jitter: Double) -> Int {
        let exponent = min(max(tries - 1, 0), 20)
        let ceiling = min(maxBackoffMillis, baseBackoffMillis << exponent)
        let half = Double(ceiling) / 2
        return Int(half + half * min(max(jitter, 0), 1))
    }
}
