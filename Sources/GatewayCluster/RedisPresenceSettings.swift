import GatewayRedis

/// Leases and sweeps of `RedisPresence`. With the defaults a node killed with SIGKILL has its users
/// removed within about 12 s (its lease, renewed every lease/3, runs out at most 10 s after its
/// last renewal; a sweep every 2 s on every node notices), well within 30 s.
public struct RedisPresenceSettings: Sendable, Hashable {
    public var leaseMillis: Int
    public var sweepIntervalMillis: Int
    /// How long `start` waits for Redis to load the script, and `stop()` for Redis to take this
    /// node's users out.
    public var startTimeoutMillis: Int
    public var stopTimeoutMillis: Int
    public var subscriber: RedisSubscriberOptions

    public init(leaseMillis: Int = 10_000, sweepIntervalMillis: Int = 2_000, startTimeoutMillis: Int = 2_000,
                stopTimeoutMillis: Int = 1_000,
                subscriber: RedisSubscriberOptions = RedisSubscriberOptions(threadName: "redis-presence")) {
        self.leaseMillis = leaseMillis
        self.sweepIntervalMillis = sweepIntervalMillis
        self.startTimeoutMillis = startTimeoutMillis
        self.stopTimeoutMillis = stopTimeoutMillis
        self.subscriber = subscriber
    }

    /// A third of the lease: two renewals may fail (a Redis blip) before the lease runs out.
    public var renewIntervalMillis: Int { max(1, leaseMillis / 3) }

    /// Of every presence key: they outlive a lease long enough for a sweep to publish the leaves of a
    /// dead node, and vanish by themselves when every node is gone.
    public var keyTTLMillis: Int { leaseMillis * 3 }
}
