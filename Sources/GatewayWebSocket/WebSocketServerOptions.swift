public struct WebSocketServerOptions: Sendable, Equatable {
    public var host: String = "127.0.0.1"
    /// 0 picks a free port; read it back from `WebSocketServer.boundPort`.
    public var port: Int = 8080
    /// Accepted WebSocket subprotocol; clients that offer none are accepted too.
    public var subprotocol: String = "chat.v1"
    /// Path of the chat endpoint.
    public var chatPath: String = "/v1/ws"
    /// Largest whole text message on the chat path; larger closes 1009.
    public var maxMessageBytes: Int = 64 * 1024
    /// Echo endpoint for conformance suites (`/v1/echo`): off unless enabled.
    public var echoEnabled: Bool = false
    public var echoPath: String = "/v1/echo"
    public var echoMaxMessageBytes: Int = 16 * 1024 * 1024
    /// The server pings a connection idle this long; one silent for `hangupSeconds` is dropped.
    /// lws 4.1 counts only PONGs (and the upgrade) as signs of life, so a busy connection is pinged too.
    /// 0 turns heartbeats off. Otherwise `hangupSeconds` must be larger than `heartbeatSeconds`.
    public var heartbeatSeconds: Int = 25
    public var hangupSeconds: Int = 60
    /// Directory served at `/` (index.html by default); nil serves no files.
    public var staticRoot: String?
    /// Exact paths answered by `WebSocketServerHandler.httpResponse(forPath:)`.
    public var dynamicPaths: [String] = ["/healthz", "/readyz"]
    /// Which event loop lws runs on. See `WebSocketEventLoop`.
    public var eventLoop: WebSocketEventLoop = .libev
    /// Size of the receive buffer lws allocates for every WebSocket connection, for its whole life.
    /// Messages are assembled in our own buffer, so this only sets the chunk size of `RECEIVE`
    /// callbacks; it is the largest per-connection cost of an idle connection, hence small.
    public var receiveChunkBytes: Int = 1024
    /// How long `stop()` waits for clients to answer the 1001 close before it drops them.
    public var stopGraceMilliseconds: Int = 1000
    public init() {}
}
