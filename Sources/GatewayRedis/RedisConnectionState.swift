/// Where a `RedisClient` or `RedisSubscriber` connection is. Every change is reported to the
/// owner's callback, on the connection's thread, in order.
public enum RedisConnectionState: Sendable, Hashable {
    /// A connect attempt (TCP, AUTH, SELECT, PING) is under way; commands sent now wait for it.
    case connecting
    /// The handshake succeeded: commands are sent as they arrive.
    case connected
    /// The last attempt failed or the connection dropped, for this reason; the next attempt
    /// comes after the backoff delay. Commands sent now fail at once with `.notConnected`.
    case down(RedisError)
    /// `shutdown()` was called; there will be no more attempts.
    case closed

    public var isConnected: Bool { self == .connected }

    public var isDown: Bool {
        if case .down = self { true } else { false }
    }
}
