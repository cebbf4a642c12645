/// What the user of a `WebSocketClientPool` supplies. Every method runs on the pool's service
/// thread and must return quickly (no blocking, no waiting on other threads). Connections are
/// named by their index, 0..<options.connections.
public protocol WebSocketClientHandler: AnyObject, Sendable {
    /// The upgrade completed. Frames put in `outbox` are sent in order.
    func clientOpened(_ connection: Int, outbox: inout ClientOutbox)
    /// One whole text message (fragments joined). `text` is valid only during the call.
    func clientReceived(_ connection: Int, text: UnsafeRawBufferPointer, outbox: inout ClientOutbox)
    /// The connection is gone, or never came up. Called exactly once for every connection started.
    func clientClosed(_ connection: Int, reason: ClientCloseReason)
    /// The request path for this connection, just before it is started; nil for `options.path`.
    func path(for connection: Int) -> String?
}

extension WebSocketClientHandler {
    public func path(for connection: Int) -> String? { nil }
}

/// Frames (and possibly a close) a handler callback wants sent on its connection.
public struct ClientOutbox {
    public private(set) var frames: [[UInt8]] = []
    public private(set) var closeCode: UInt16?

    public init() {}

    public mutating func send(_ frame: [UInt8]) { frames.append(frame) }

    /// Close with `code` once the frames queued before it have gone out.
    public mutating func close(code: UInt16 = 1000) { closeCode = code }
}

public enum ClientCloseReason: Sendable, Equatable {
    /// TCP connect or the upgrade failed; lws's description.
    case connectFailed(String)
    /// The server sent a close frame with this code (1005 when it had none).
    case closedByServer(code: UInt16)
    /// We closed (ClientOutbox.close or stop()) and the server answered.
    case closedByClient(code: UInt16)
    /// The socket went away without a close handshake.
    case dropped
}
