import GatewayCore

/// What the application supplies to the server. Every method is called on the lws service thread
/// and must return quickly: no blocking I/O, no waiting on other threads (locks held briefly are fine).
public protocol WebSocketServerHandler: AnyObject, Sendable {
    /// A `/v1/ws` connection completed its upgrade.
    func connectionOpened(_ connection: ConnectionID, remoteAddress: String)
    /// One whole text message (fragments already joined, size limit and UTF-8 already checked).
    func connectionReceived(_ connection: ConnectionID, text: [UInt8])
    /// The connection is gone (either side closed, or it was dropped). Called exactly once per opened connection.
    func connectionClosed(_ connection: ConnectionID)
    /// The socket can take more. Return the next outbound action; the server keeps asking while the
    /// socket is not choked and answers `.frame`, and stops at `.idle` or after `.lastFrame` until
    /// `wake` is called again.
    func nextOutbound(for connection: ConnectionID) -> OutboundAction
    /// A plain HTTP GET on a path registered in `WebSocketServerOptions.dynamicPaths` (e.g. `/healthz`).
    func httpResponse(forPath path: String) -> HTTPResponse
}

public enum OutboundAction: Sendable, Equatable {
    case frame([UInt8])
    /// A frame, and nothing else is waiting: the server sends it and does not ask again until the
    /// next `wake` (as `.frame` then `.idle`, without the second call and its lookups).
    case lastFrame([UInt8])
    /// Close with this WebSocket close code and reason (reason at most 123 bytes).
    case close(code: UInt16, reason: String)
    case idle
}

public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public init(status: Int, contentType: String = "application/json", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}
