/// Errors as upstreams write them.

/// The `error` member of an error body or in-band error event: an object (`message`, `type`, `code`:
/// OpenAI, Anthropic, llama.cpp) or a bare string (Ollama). Shared by every dialect's decoder and by
/// `UpstreamHTTPError`.
public struct UpstreamErrorPayload: Decodable, Sendable {
    /// Human-readable summary: the message, else the type/code, else a generic text.
    public var detail: String
    /// The error says the server is busy (overloaded, rate-limited, 5xx-like): a retry may succeed.
    public var isOverload: Bool

    public init(detail: String, isOverload: Bool) {
        self.detail = detail
        self.isOverload = isOverload
    }

    /// Kinds of in-band error that a later retry can cure, as the providers name them.
    static func isOverloadKind(_ label: String) -> Bool {
        let lowered = label.lowercased()
        return ["overloaded", "server_error", "rate_limit", "529", "503", "502", "500", "429", "unavailable", "busy"]
            .contains { lowered.contains($0) }
    }

    private struct Object: Decodable {
        var message: String?
        var type: String?
        var code: LossyString?
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            detail = text
            isOverload = Self.isOverloadKind(text)
            return
        }
        let object = try container.decode(Object.self)
        let label = [object.type, object.code?.value ?? nil].compactMap { $0 }.joined(separator: "/")
        switch (object.message, label.isEmpty) {
        case let (message?, true): detail = message
        case let (message?, false): detail = "\(message) (\(label))"
        case (nil, false): detail = label
        case (nil, true): detail = "unspecified upstream error"
        }
        isOverload = Self.isOverloadKind(label)
    }
}

/// `code` is a string for OpenAI, a number for llama.cpp and vLLM; anything else is dropped rather
/// than making the whole error unreadable.
private struct LossyString: Decodable {
    var value: String?
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            value = text
        } else if let number = try? container.decode(Int.self) {
            value = String(number)
        } else {
            value = nil
        }
    }
}
