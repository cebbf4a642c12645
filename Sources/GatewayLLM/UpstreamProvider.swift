import GatewayCore

/// Settings of one OpenAI-compatible upstream (OpenAI, vLLM, llama.cpp server, LiteLLM, Ollama `/v1`).
public struct OpenAIProviderConfig: Sendable {
    /// Up to and including the version segment, e.g. `http://127.0.0.1:8081/v1`.
    public var baseURL: String
    /// Upstream model name sent in each request.
    public var model: String
    /// Bearer token; nil or empty sends no Authorization header.
    public var apiKey: String?
    public var connectTimeout: Duration
    /// Whole turn, first byte to `[DONE]`; also what ends a stall hidden behind keep-alive comments.
    public var totalTimeout: Duration
    /// No byte at all (not even a keep-alive) for this long ends the turn early; nil for none. Off by
    /// default: a CPU llama.cpp can think for minutes over a long prompt before its first byte.
    public var stallTimeout: Duration?
    /// Cap on output tokens sent as `max_tokens`; a request's own cap can only lower it.
    public var maxTokens: Int?
    /// Sampling temperature; nil leaves it to the server.
    public var temperature: Double?
    /// Shown to users in `turn.start`; defaults to `model`.
    public var displayName: String

    public init(baseURL: String,
                model: String,
                apiKey: String? = nil,
                connectTimeout: Duration = .seconds(10),
                totalTimeout: Duration = .seconds(300),
                stallTimeout: Duration? = nil,
                maxTokens: Int? = nil,
                temperature: Double? = nil,
                displayName: String? = nil) {
        self.baseURL = baseURL
        self.model = model
        self.apiKey = apiKey
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.stallTimeout = stallTimeout
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.displayName = displayName ?? model
    }
}

/// `ChatProvider` for OpenAI-compatible `/chat/completions` streaming, over a shared `HTTPStreamClient`.
///
/// Events: `.text` per content delta; then exactly one `.usage` (upstream totals, or an estimate
/// marked `estimated`) right before the terminal whenever the upstream answered 2xx; then exactly
/// one `.finished` or `.failed`. Failures: non-2xx → `upstream_http` (with the body's message),
/// connect failure → `upstream_unreachable`, timeout → `upstream_timeout`, in-band error or
/// malformed chunk → `upstream_error`, body cut before a finish reason → `upstream_truncated`.
/// `cancel()` closes the upstream connection at once; nothing is emitted after it.
public final class OpenAIProvider: ChatProvider {
    public let config: OpenAIProviderConfig
    private let client: HTTPStreamClient
    private let builder: OpenAIRequestBuilder

    public init(config: OpenAIProviderConfig, client: HTTPStreamClient) {
        self.config = config
        self.client = client
        self.builder = OpenAIRequestBuilder(model: config.model, apiKey: config.apiKey, maxTokens: config.maxTokens,
                                            temperature: config.temperature)
    }

    public var displayName: String { config.displayName }

    public func startStream(_ request: ChatRequest, onEvent: @escaping @Sendable (ProviderEvent) -> Void) -> any ProviderStream {
        let httpRequest = HTTPStreamRequest(url: OpenAIRequestBuilder.completionsURL(base: config.baseURL),
                                            method: .post,
                                            headers: builder.headers(),
                                            body: builder.body(for: request),
                                            connectTimeout: config.connectTimeout,
                                            totalTimeout: config.totalTimeout,
                                            stallTimeout: config.stallTimeout)
        let stream = OpenAIStream(client: client, requestMessages: request.messages, onEvent: onEvent)
        stream.attach(client.start(httpRequest, handler: stream))
        return stream
    }
}
