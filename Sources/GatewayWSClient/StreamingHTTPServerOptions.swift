/// Where a `StreamingHTTPServer` listens and how often it asks its handler for more bytes.
public struct StreamingHTTPServerOptions: Sendable, Equatable {
    /// Numeric IPv4 address to listen on (loopback: a benchmark fixture, never a public server).
    public var host = "127.0.0.1"
    /// 0 picks a free port; read it back from `StreamingHTTPServer.boundPort`.
    public var port = 0
    /// How often the handler's `tick` runs while streams are open.
    public var tickMicroseconds = 1000
    /// A request body larger than this is refused with 413.
    public var maxBodyBytes = 4 * 1024 * 1024
    /// The same choice as the client pool's, with the same one-libev-context-per-process rule.
    public var eventLoop: WebSocketClientEventLoop = .libev

    public init() {}
}
