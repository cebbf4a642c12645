/// Where a `WebSocketClientPool` connects, how many connections it opens and how fast.
public struct WebSocketClientOptions: Sendable, Equatable {
    /// Server address (numeric: the name is resolved on the service thread, which must not block).
    public var host = "127.0.0.1"
    public var port = 8080
    public var path = "/v1/ws"
    /// Offered in `Sec-WebSocket-Protocol`; nil offers none.
    public var subprotocol: String? = "chat.v1"
    /// Local address every socket binds to before connecting (e.g. 127.0.0.2), so several client
    /// processes each get their own ~28k ephemeral ports; nil lets the kernel choose.
    public var sourceAddress: String?
    /// Connections to open, numbered 0..<connections in the order they are started.
    public var connections = 1
    /// Connection attempts started per second at most; 0 means only `maxPendingConnects` paces them.
    public var connectsPerSecond: Double = 0
    /// Connection attempts in flight (TCP connect + upgrade) at most.
    public var maxPendingConnects = 256
    public var eventLoop: WebSocketClientEventLoop = .libev
    /// lws's per-connection receive buffer: frames longer than this arrive in pieces we join.
    public var receiveChunkBytes = 4096
    /// A message larger than this closes its connection with 1009 (a bench should never see one).
    public var maxMessageBytes = 16 * 1024 * 1024
    /// How long `stop()` waits for close handshakes before dropping what is left.
    public var stopGraceMilliseconds = 3000

    public init() {}
}

/// The event loop behind the client's lws service thread (the same choice the server offers).
public enum WebSocketClientEventLoop: String, Sendable, Equatable, CaseIterable {
    /// lws's built-in `poll()`: O(connections) per wake-up, fine for a handful of connections.
    case poll
    /// libev through the Debian plugin `libwebsockets-evlib-ev` (epoll): needed for thousands.
    /// One libev lws context per process: lws watches SIGINT on each loop it creates, and libev
    /// aborts when a second loop watches the same signal (so a process that also runs the
    /// gateway's libev server must use `.poll` here).
    case libev
}

/// Why `WebSocketClientPool.start()` failed.
public enum WebSocketClientError: Error, Equatable, Sendable {
    case alreadyStarted
    case invalidOptions(String)
    /// `lws_create_context` failed (for libev: the plugin is missing); lws logs the cause to stderr.
    case contextCreationFailed(eventLoop: WebSocketClientEventLoop)
    case threadStartFailed(Int32)
}
