import Foundation

/// Builds the streaming `POST {base}/api/chat` request of Ollama's native API. Pure.
///
/// Base URL: the server root, as `OLLAMA_HOST` names it (`http://127.0.0.1:11434`); the builder
/// appends `/api/chat`. A base ending in `/api` (as Ollama's API reference writes it) is accepted
/// and not doubled. For Ollama's OpenAI-compatible `/v1` endpoint use the OpenAI dialect instead.
///
/// Messages are sent as they are: Ollama takes system messages in the list and applies the model's
/// chat template itself.
public struct OllamaRequestBuilder: Sendable {
    /// Ollama model tag sent as `model`, e.g. `llama3.2:3b`.
    public var model: String
    /// Sent as `Authorization: Bearer ...` when non-empty (ollama.com, or an authenticating proxy);
    /// a local server needs none.
    public var apiKey: String?
    /// Provider-wide cap on output tokens, sent as `options.num_predict`; a request's own
    /// `maxOutputTokens` can only lower it. Without either, the model's own default applies.
    public var maxTokens: Int?
    /// Sent as `options.temperature` when set.
    public var temperature: Double?

    public init(model: String, apiKey: String? = nil, maxTokens: Int? = nil, temperature: Double? = nil) {
        self.model = model
        self.apiKey = apiKey
        self.maxTokens = maxTokens
        self.temperature = temperature
    }

    /// `base` is e.g. `http://127.0.0.1:11434` (trailing slashes and a trailing `/api` are fine).
    public static func chatURL(base: String) -> String {
        var trimmed = Substring(base)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if trimmed.hasSuffix("/api") { trimmed = trimmed.dropLast(4) }
        return trimmed + "/api/chat"
    }

    /// JSON body: model, messages, `stream: true`, and `options` (`num_predict`: the smaller cap;
    /// `temperature`) when any of them is set.
    public func body(for request: ChatRequest) -> [UInt8] {
        let caps = [maxTokens, request.maxOutputTokens].compactMap { $0 }
        let options = Body.Options(numPredict: caps.min(), temperature: temperature)
        let body = Body(model: model,
                        messages: request.messages.map { Body.Message(role: $0.role.rawValue, content: $0.content) },
                        stream: true,
                        options: options.isEmpty ? nil : options)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding strings, ints and bools cannot fail.
        return Array((try? encoder.encode(body)) ?? Data())
    }

    /// Request headers, in order. `Expect:` is sent empty so curl never waits for `100 Continue`.
    public func headers() -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/json"),
            ("Accept", "application/x-ndjson"),
            ("Expect", ""),
        ]
        if let apiKey, !apiKey.isEmpty {
            headers.append(("Authorization", "Bearer \(apiKey)"))
        }
        return headers
    }
}

private struct Body: Encodable {
    struct Message: Encodable {
        var role: String
        var content: String
    }
    struct Options: Encodable {
        var numPredict: Int?
        var temperature: Double?
        var isEmpty: Bool { numPredict == nil && temperature == nil }
        enum CodingKeys: String, CodingKey {
            case temperature
            case numPredict = "num_predict"
        }
    }

    var model: String
    var messages: [Message]
    var stream: Bool
    var options: Options?
}
