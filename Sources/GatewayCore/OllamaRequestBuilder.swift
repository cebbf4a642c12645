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
        UpstreamRequestParts.trimmed(base, dropping: "/api") + "/api/chat"
    }

    /// JSON body: model, messages, `stream: true`, and `options` (`num_predict`: the smaller cap;
    /// `temperature`) when any of them is set.
    public func body(for request: ChatRequest) -> [UInt8] {
        let options = Body.Options(numPredict: UpstreamRequestParts.outputCap(maxTokens, request.maxOutputTokens),
                                   temperature: temperature)
        let body = Body(model: model,
                        messages: UpstreamRequestParts.mergingConsecutiveRoles(request.messages)
                            .map { Body.Message(role: $0.role.rawValue, content: $0.content) },
                        stream: true,
                        options: options.isEmpty ? nil : options)
        return UpstreamRequestParts.json(body)
    }

    /// Request headers, in order; a bearer token when there is a key (Ollama behind a proxy).
    public func headers() -> [(name: String, value: String)] {
        UpstreamRequestParts.headers(accept: "application/x-ndjson",
                                     credential: apiKey.flatMap { $0.isEmpty ? nil : ("Authorization", "Bearer \($0)") })
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
