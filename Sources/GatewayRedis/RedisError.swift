/// Why a command, connection or subscription failed.
///
/// The cases say whether a command may have run, which is what a caller needs to decide on a
/// retry (this client never retries on its own): `cannotConnect`, `notConnected` and
/// `invalidCommand` mean it was never sent; `connectionLost`, `timeout` and `shutdown` mean it
/// may have been sent and may have run; `server` means it ran and Redis rejected it.
public enum RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A connect attempt failed: refused, unresolvable host, unreachable, or no handshake reply
    /// within the connect timeout. The text is hiredis' or the kernel's reason.
    case cannotConnect(String)
    /// The client is down, between reconnect attempts: it does not hold commands for a server
    /// it cannot reach. Not sent.
    case notConnected
    /// The connection dropped (closed, reset, or a dead link) while the command was sent or
    /// about to be: it may or may not have run.
    case connectionLost(String)
    /// No reply within the command timeout. The connection is dropped, because the reply may
    /// still arrive and would be taken for the next command's.
    case timeout
    /// An error reply, with Redis' text: "ERR unknown command …", "NOSCRIPT …", "WRONGPASS …".
    case server(String)
    /// Bytes from the server that hiredis could not parse; the connection is dropped.
    case protocolError(String)
    /// Rejected before sending: empty, or a command that would turn the command connection
    /// into something else (SUBSCRIBE, MONITOR: use `RedisSubscriber`).
    case invalidCommand(String)
    /// `shutdown()` was called before the reply arrived.
    case shutdown

    /// The first word of a server error ("NOSCRIPT", "WRONGTYPE", "ERR"), nil for other cases.
    public var serverErrorCode: Substring? {
        guard case let .server(text) = self else { return nil }
        return text.split(separator: " ", maxSplits: 1).first
    }

    public var description: String {
        switch self {
        case let .cannotConnect(reason): "cannot connect to Redis: \(reason)"
        case .notConnected: "not connected to Redis (reconnecting)"
        case let .connectionLost(reason): "connection to Redis lost: \(reason)"
        case .timeout: "Redis did not reply in time"
        case let .server(text): "Redis error: \(text)"
        case let .protocolError(reason): "Redis protocol error: \(reason)"
        case let .invalidCommand(reason): "invalid Redis command: \(reason)"
        case .shutdown: "Redis client shut down"
        }
    }
}
