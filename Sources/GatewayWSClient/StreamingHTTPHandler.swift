/// What the user of a `StreamingHTTPServer` supplies. Every method runs on the server's service
/// thread and must return quickly (no blocking, no waiting on other threads). Streams are named by
/// a number unique within the server, from 1.
public protocol StreamingHTTPHandler: AnyObject, Sendable {
    /// A whole request arrived (a POST with its body read). Returns the response's head and its
    /// first bytes; the rest is written from `tick`.
    func requestArrived(_ stream: Int, method: StreamingHTTPMethod, path: String, body: [UInt8]) -> StreamingHTTPResponse
    /// Every `StreamingHTTPServerOptions.tickMicroseconds` while a stream is open: what the open
    /// streams have to write now.
    func tick(_ output: inout StreamingHTTPOutput)
    /// The stream's connection is gone, at wall-clock `atMicroseconds` (CLOCK_REALTIME, µs since
    /// the epoch): after its final byte went out (`completed`), or the client closed it first.
    /// Called exactly once for every stream `requestArrived` saw.
    func streamClosed(_ stream: Int, completed: Bool, atMicroseconds: Int)
}

public enum StreamingHTTPMethod: Sendable, Equatable {
    case get, post, other
}

/// The head of a streamed response and its first bytes; `final` ends the stream with them.
public struct StreamingHTTPResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var final: Bool

    public init(status: Int, contentType: String, body: [UInt8] = [], final: Bool = false) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.final = final
    }
}

/// What a `tick` wants written: bytes for open streams, in order; `final` ends a stream once its
/// bytes are out (its connection closes: see `StreamingHTTPServer`).
public struct StreamingHTTPOutput {
    public private(set) var writes: [(stream: Int, bytes: [UInt8], final: Bool)] = []

    public init() {}

    public mutating func write(_ bytes: [UInt8], to stream: Int, final: Bool = false) {
        writes.append((stream, bytes, final))
    }
}
