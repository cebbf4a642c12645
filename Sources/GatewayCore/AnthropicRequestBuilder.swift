import Foundation

/// Builds the streaming `POST {base}/v1/messages` request of Anthropic's Messages API (also served
/// by llama.cpp's `llama-server` and by proxies that speak Anthropic). Pure.
///
/// Base URL: the host root, as Anthropic's SDKs take it (`ANTHROPIC_BASE_URL`, default
/// `https://api.anthropic.com`) and as llama.cpp serves it (`http://127.0.0.1:8081`); the builder
/// appends `/v1/messages`. A base that already ends in `/v1` (as OpenAI-style base URLs do) is
/// accepted too and not doubled.
///
/// The Messages API differs from chat completions in what it accepts, so the conversation is
/// reshaped (see `conversation(of:)`): system prompts go to the top-level `system` field, and the
/// messages must alternate user/assistant starting with user.
public struct AnthropicRequestBuilder: Sendable {
    /// The API version this gateway's decoder was written against (sent as `anthropic-version`).
    public static let apiVersion = "2023-06-01"
    /// `max_tokens` is required by the Messages API; this is sent when neither the provider nor the
    /// request sets a cap. Enough for a chat reply, small enough not to run up a bill by surprise.
    public static let defaultMaxTokens = 1024
    /// Joins the texts of merged messages (several system prompts, consecutive same-role turns).
    public static let mergeSeparator = UpstreamRequestParts.mergeSeparator
    /// Opens a history that starts with an assistant message (e.g. after the oldest turns were
    /// trimmed), because the API requires the first message to be the user's.
    public static let leadingUserPlaceholder = "(conversation continues)"

    /// Upstream model name sent as `model`.
    public var model: String
    /// Sent as `x-api-key` when non-empty; local servers (llama.cpp) need none.
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

    /// `base` is e.g. `https://api.anthropic.com` or `http://127.0.0.1:8081` (trailing slashes and
    /// a trailing `/v1` are fine).
    public static func messagesURL(base: String) -> String {
        UpstreamRequestParts.trimmed(base, dropping: "/v1") + "/v1/messages"
    }

    /// JSON body: model, `max_tokens` (the smaller of the two caps, else `defaultMaxTokens`),
    /// `stream: true`, `system` when there is a system prompt, the alternating messages, and
    /// `temperature` when configured.
    public func body(for request: ChatRequest) -> [UInt8] {
        let conversation = Self.conversation(of: request.messages)
        let body = Body(model: model,
                        maxTokens: UpstreamRequestParts.outputCap(maxTokens, request.maxOutputTokens) ?? Self.defaultMaxTokens,
                        stream: true,
                        system: conversation.system,
                        messages: conversation.messages.map { Body.Message(role: $0.role.rawValue, content: $0.content) },
                        temperature: temperature)
        return UpstreamRequestParts.json(body)
    }

    /// Request headers, in order; the API version always, `x-api-key` when there is a key.
    public func headers() -> [(name: String, value: String)] {
        UpstreamRequestParts.headers(accept: "text/event-stream", extra: [("anthropic-version", Self.apiVersion)],
                                     credential: apiKey.flatMap { $0.isEmpty ? nil : ("x-api-key", $0) })
    }

    /// The gateway's messages as the Messages API accepts them:
    /// - every system message, wherever it is, goes (in order, joined by `mergeSeparator`) into
    ///   `system`, which is nil when there is none;
    /// - messages with empty text are dropped (the API rejects empty text blocks);
    /// - consecutive messages of the same role are merged into one, joined by `mergeSeparator`
    ///   (the API and the chat templates of local servers want strict alternation);
    /// - a history starting with an assistant message gets `leadingUserPlaceholder` before it.
    public static func conversation(of messages: [ChatMessage]) -> (system: String?, messages: [ChatMessage]) {
        let systemParts = messages.filter { $0.role == .system && !$0.content.isEmpty }.map(\.content)
        var turns = UpstreamRequestParts.mergingConsecutiveRoles(messages.filter { $0.role != .system })
        if turns.first?.role == .assistant {
            turns.insert(ChatMessage(role: .user, content: leadingUserPlaceholder), at: 0)
        }
        return (systemParts.isEmpty ? nil : systemParts.joined(separator: mergeSeparator), turns)
    }
}

private struct Body: Encodable {
    struct Message: Encodable {
        var role: String
        var content: String
    }

    var model: String
    var maxTokens: Int
    var stream: Bool
    var system: String?
    var messages: [Message]
    var temperature: Double?

    enum CodingKeys: String, CodingKey {
        case model, stream, system, messages, temperature
        case maxTokens = "max_tokens"
    }
}
