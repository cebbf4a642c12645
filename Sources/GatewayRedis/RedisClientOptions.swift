/// Timeouts and reconnect pacing of a `RedisClient`.
public struct RedisClientOptions: Sendable, Hashable {
    /// For one attempt: connect, AUTH, SELECT and PING.
    public var connectTimeout: Duration
    /// From `send` to the reply, waiting for a connection included. Longer than any blocking
    /// command you send (`BLPOP key 5` needs more than 5 s), since a late reply drops the
    /// connection.
    public var commandTimeout: Duration
    public var reconnectBackoff: RedisReconnectBackoff
    /// The command thread's name in debuggers and `top -H` (15 bytes are kept).
    public var threadName: String

    public init(connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(5),
                reconnectBackoff: RedisReconnectBackoff = RedisReconnectBackoff(),
                threadName: String = "redis-commands") {
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.reconnectBackoff = reconnectBackoff
        self.threadName = threadName
    }
}
