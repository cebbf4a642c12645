import Foundation

/// A non-2xx answer from any upstream as the turn's `upstream_http` error. Every provider's error
/// body has the same few shapes, so one reader serves them all: `{"error":{"message":...}}`
/// (OpenAI, Anthropic, llama.cpp), `{"error":"..."}` (Ollama), `{"message":...}` (vLLM),
/// `{"detail":...}` (FastAPI servers), or else the body as text. Pure.
public enum UpstreamHTTPError {
    /// Details quoted into `TurnError` messages are cut to this many characters.
    public static let maxDetailLength = 300

    public static func turnError(status: Int, body: [UInt8], retryAfterMillis: Int? = nil) -> TurnError {
        var detail = self.detail(body: body)
        if let retryAfterMillis {
            let wait = retryAfterMillis % 1000 == 0 ? "\(retryAfterMillis / 1000) s" : "\(retryAfterMillis) ms"
            detail += (detail.isEmpty ? "" : " ") + "(retry after \(wait))"
        }
        return .upstreamHTTP(status: status, detail: detail, retryAfterMillis: retryAfterMillis)
    }

    /// The readable part of an error body, whitespace-collapsed and cut to `maxDetailLength`.
    public static func detail(body: [UInt8]) -> String {
        let text: String
        if let envelope = try? JSONDecoder().decode(ErrorEnvelope.self, from: Data(body)),
           let message = envelope.error?.detail ?? envelope.message ?? envelope.detail {
            text = message
        } else {
            text = String(decoding: body, as: UTF8.self)
        }
        let collapsed = text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        return truncate(collapsed, to: maxDetailLength)
    }

    static func truncate(_ text: String, to limit: Int) -> String {
        guard text.count > limit else { return text }
        return String(text.prefix(limit - 1)) + "…"
    }
}

private struct ErrorEnvelope: Decodable {
    var error: UpstreamErrorPayload?
    /// vLLM puts the message at top level; FastAPI-based servers use `detail`.
    var message: String?
    var detail: String?
}
