import Foundation

/// Builds the streaming `POST {base}/chat/completions` request for OpenAI-compatible servers. Pure.
public struct OpenAIRequestBuilder: Sendable {
    /// Upstream model name sent as `model`.
    public var model: String
    /// Sent as `Authorization: Bearer ...` when non-empty; local servers (llama.cpp, vLLM) need none.
    public var apiKey: String?
    /// Provider-wide cap on output tokens; a request's own `maxOutputTokens` can only lower it.
    public var maxTokens: Int?
    /// Sent as `temperature` when set; otherwise the server's default applies.
    public var temperature: Double?

    public init(model: String, apiKey: String? = nil, maxTokens: Int? = nil, temperature: Double? = nil) {
        self.model = model
        self.apiKey = apiKey
        self.maxTokens = maxTokens
        self.temperature = temperature
    }

    /// `base` is e.g. `http://127.0.0.1:8081/v1` (a trailing slash is fine).
    public static func completionsURL(base: String) -> String {
        UpstreamRequestParts.trimmed(base) + "/chat/completions"
    }

    /// JSON body: model, messages, `stream: true`, `stream_options.include_usage` (so the usage
    /// chunk arrives before `[DONE]`), `max_tokens` when either cap is set (the smaller wins) and
    /// `temperature` when configured.
    public func body(for request: ChatRequest) -> [UInt8] {
        let body = Body(model: model,
                        messages: UpstreamRequestParts.mergingConsecutiveRoles(request.messages)
                            .map { Body.Message(role: $0.role.rawValue, content: $0.content) },
                        stream: true,
                        streamOptions: .init(includeUsage: true),
                        maxTokens: UpstreamRequestParts.outputCap(maxTokens, request.maxOutputTokens),
                        temperature: temperature)
        return UpstreamRequestParts.json(body)
    }

    /// Request headers, in order; a bearer token when there is a key.
    public func headers() -> [(name: String, value: String)] {
        UpstreamRequestParts.headers(accept: "text/event-stream",
                                     credential: apiKey.flatMap { $0.isEmpty ? nil : ("Authorization", "Bearer \($0)") })
    }
}

private struct Body: Encodable {
    struct Message: Encodable {
        var role: String
        var content: String
    }
    struct StreamOptions: Encodable {
        var includeUsage: Bool
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    var model: String
    var messages: [Message]
    var stream: Bool
    var streamOptions: StreamOptions
    var maxTokens: Int?
    var temperature: Double?

    enum CodingKeys: String, CodingKey {
        case model, messages, stream, temperature
        case streamOptions = "stream_options"
        case maxTokens = "max_tokens"
    }
}
