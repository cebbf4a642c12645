/// How long to wait before the next connect attempt: the first attempt after a working
/// connection drops is immediate (a restarted server is often back at once), then the delay
/// doubles with each failed attempt from `initialDelay` up to `maximumDelay`.
///
/// No jitter: each node has one command and one pub/sub connection, so a restarted Redis sees
/// two connects per node, not a herd.
public struct RedisReconnectBackoff: Sendable, Hashable {
    public var initialDelay: Duration
    public var maximumDelay: Duration

    public init(initialDelay: Duration = .milliseconds(100), maximumDelay: Duration = .seconds(5)) {
        self.initialDelay = initialDelay
        self.maximumDelay = max(initialDelay, maximumDelay)
    }

    /// The wait after `failures` consecutive failed attempts (1 for the first failure).
    public func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        var delay = initialDelay
        for _ in 1..<failures {
            delay *= 2
            if delay >= maximumDelay { return maximumDelay }
        }
        return min(delay, maximumDelay)
    }
}
