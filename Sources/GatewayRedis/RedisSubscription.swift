/// One thing a `RedisSubscriber` listens to.
public enum RedisSubscription: Sendable, Hashable {
    /// An exact channel name (SUBSCRIBE).
    case channel(String)
    /// A glob pattern such as `session:*` (PSUBSCRIBE).
    case pattern(String)
}
