import Foundation

/// Why a turn failed; `code` is one of the documented client-facing codes (docs/protocol.md).
///
/// `retry` is not sent to clients: it tells the worker whether the same request may succeed when
/// asked again (on the same deployment after a pause, or on a fallback), as long as nothing of the
/// reply was relayed yet.
public struct TurnError: Error, Sendable, Equatable {
    public enum Retry: Sendable, Equatable {
        case never
        /// Worth another try; `afterMillis` is what the upstream asked for (Retry-After), if anything.
        case allowed(afterMillis: Int?)
    }

    public var code: String
    public var message: String
    public var retry: Retry

    public init(code: String, message: String, retry: Retry = .never) {
        self.code = code
        self.message = message
        self.retry = retry
    }

    public var isRetryable: Bool { if case .allowed = retry { true } else { false } }

    /// The same error with every occurrence of `secrets` (the credentials sent upstream) in its
    /// message replaced by `[redacted]`: upstream error texts are relayed to clients and logged,
    /// and some quote the key they refused.
    public func redacting(_ secrets: [String]) -> TurnError {
        var copy = self
        for secret in secrets where !secret.isEmpty {
            copy.message = copy.message.replacingOccurrences(of: secret, with: "[redacted]")
        }
        return copy
    }

    /// An HTTP error answer. 408, 409 (conflict/lock), 429 and 5xx are worth retrying; other 4xx are
    /// the request's own fault and would fail again.
    public static func upstreamHTTP(status: Int, detail: String, retryAfterMillis: Int? = nil) -> TurnError {
        let retryable = status == 408 || status == 409 || status == 429 || (500...599).contains(status)
        return TurnError(code: "upstream_http",
                         message: "upstream answered HTTP \(status)" + (detail.isEmpty ? "" : ": \(detail)"),
                         retry: retryable ? .allowed(afterMillis: retryAfterMillis) : .never)
    }

    /// An error reported inside a 200 stream. `overloaded` marks the kinds a retry can cure
    /// (Anthropic's `overloaded_error`, OpenAI's `server_error`, rate limits).
    public static func upstreamError(_ detail: String, overloaded: Bool = false) -> TurnError {
        TurnError(code: "upstream_error", message: detail, retry: overloaded ? .allowed(afterMillis: nil) : .never)
    }

    /// The body ended (or the connection broke) before the answer's end marker.
    public static let upstreamTruncated = TurnError(
        code: "upstream_truncated", message: "the upstream stream ended before its end marker or a finish reason",
        retry: .allowed(afterMillis: nil))

    /// No connection could be made (refused, DNS, no route).
    public static func upstreamUnreachable(_ detail: String) -> TurnError {
        TurnError(code: "upstream_unreachable", message: detail, retry: .allowed(afterMillis: nil))
    }

    /// The four timeouts of a deployment, each with its own code (docs/protocol.md).
    public static func connectTimeout(_ detail: String) -> TurnError {
        TurnError(code: "upstream_connect_timeout", message: detail, retry: .allowed(afterMillis: nil))
    }
    public static func firstTokenTimeout(_ detail: String) -> TurnError {
        TurnError(code: "upstream_first_token_timeout", message: detail, retry: .allowed(afterMillis: nil))
    }
    public static func idleTimeout(_ detail: String) -> TurnError {
        TurnError(code: "upstream_idle_timeout", message: detail)
    }
    /// The whole turn's time ran out.
    public static func upstreamTimeout(_ detail: String) -> TurnError {
        TurnError(code: "upstream_timeout", message: detail)
    }
}
