/// Receives one streaming transfer's progress. Every method is called on the `HTTPStreamClient`'s
/// curl thread, in order: `didReceiveHead` once (final, non-1xx response), `didReceiveBody` any
/// number of times, then `didComplete` exactly once, including for cancelled transfers.
///
/// Handlers run on the thread that drives every transfer: keep them short and never block.
public protocol HTTPStreamHandler: AnyObject, Sendable {
    func didReceiveHead(_ head: HTTPResponseHead)
    /// `bytes` is only valid during the call (it points into curl's receive buffer).
    func didReceiveBody(_ bytes: UnsafeRawBufferPointer)
    func didComplete(_ result: Result<Void, HTTPStreamError>)
}

/// Identifies a transfer for `HTTPStreamClient.cancel(_:)`.
public struct HTTPTransferID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "transfer-\(rawValue)" }
}

/// Status line and headers of the final response.
public struct HTTPResponseHead: Sendable {
    public var status: Int
    /// In arrival order, names as sent.
    public var headers: [(name: String, value: String)]

    public init(status: Int, headers: [(name: String, value: String)]) {
        self.status = status
        self.headers = headers
    }

    /// The first value of header `name` (case-insensitive), if present.
    public func value(forHeader name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// Why a transfer did not complete. HTTP error statuses are not errors here: they arrive as a head.
public enum HTTPStreamError: Error, Sendable, Equatable {
    /// DNS failure or connection refused.
    case couldNotConnect(String)
    /// No connection within the connect timeout.
    case connectTimedOut(String)
    /// Connected, but the total timeout or the stall timeout ran out.
    case timedOut(String)
    /// Cancelled with `HTTPStreamClient.cancel(_:)`, or the client shut down.
    case aborted
    /// Anything else curl reports (connection reset, malformed HTTP, TLS, ...): curl's code and message.
    case transport(code: Int, message: String)
}
