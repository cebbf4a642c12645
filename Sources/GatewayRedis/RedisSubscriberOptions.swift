/// Timeouts, dead-link detection and reconnect pacing of a `RedisSubscriber`.
///
/// A subscriber only listens, so a server that stopped answering (paused, wedged, a link that
/// died without a FIN) would look like a quiet channel forever. It sends PING every
/// `pingInterval` after the last PONG (PING is allowed in pub/sub mode) and drops the
/// connection when nothing at all arrives within `pingTimeout` of the PING (messages ahead of the
/// PONG count: they prove the link alive). A dead link is noticed within about the sum of the two.
public struct RedisSubscriberOptions: Sendable, Hashable {
    /// For one attempt: connect, AUTH, SELECT and PING.
    public var connectTimeout: Duration
    public var pingInterval: Duration
    public var pingTimeout: Duration
    public var reconnectBackoff: RedisReconnectBackoff
    /// The subscriber thread's name in debuggers and `top -H` (15 bytes are kept).
    public var threadName: String

    public init(connectTimeout: Duration = .seconds(2), pingInterval: Duration = .seconds(5),
                pingTimeout: Duration = .seconds(3),
                reconnectBackoff: RedisReconnectBackoff = RedisReconnectBackoff(),
                threadName: String = "redis-pubsub") {
        self.connectTimeout = connectTimeout
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.reconnectBackoff = reconnectBackoff
        self.threadName = threadName
    }
}
