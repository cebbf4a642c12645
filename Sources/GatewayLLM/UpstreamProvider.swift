import Foundation
import GatewayCore

/// Connection settings of one upstream deployment, whatever its dialect.
public struct UpstreamConnectionSettings: Sendable {
    /// DNS + TCP (+ TLS); running out ends the attempt with `upstream_connect_timeout`.
    public var connectTimeout: Duration
    /// The whole transfer; running out ends it with `upstream_timeout`. First-token and idle
    /// timeouts are kept by the turn (they count content, which only the decoder sees).
    public var totalTimeout: Duration
    /// Not a single byte (not even a keep-alive) for this long aborts the transfer; nil for none.
    public var stallTimeout: Duration?

    public init(connectTimeout: Duration = .seconds(10), totalTimeout: Duration = .seconds(300),
                stallTimeout: Duration? = nil) {
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.stallTimeout = stallTimeout
    }
}

/// `ChatProvider` for any HTTP streaming API, over a shared `HTTPStreamClient`: the dialect says
/// what to send and how to read the answer (OpenAI-compatible, Anthropic, Ollama).
///
/// Events: what the dialect's decoder produces (text, then one usage right before one terminal),
/// plus the HTTP and transport failures mapped here: non-2xx → the dialect's `httpError` (with
/// Retry-After parsed), connect failure → `upstream_unreachable`, connect timeout →
/// `upstream_connect_timeout`, total timeout → `upstream_timeout`, body cut → `upstream_truncated`.
/// `cancel()` closes the upstream connection at once; nothing is emitted after it.
public final class UpstreamProvider<Dialect: UpstreamDialect>: ChatProvider {
    public let displayName: String
    public let dialect: Dialect
    public let settings: UpstreamConnectionSettings
    private let client: HTTPStreamClient
    private let clock: @Sendable () -> Int

    /// `clock` gives ms since the Unix epoch, for Retry-After dates.
    public init(displayName: String, dialect: Dialect, settings: UpstreamConnectionSettings, client: HTTPStreamClient,
                clock: @escaping @Sendable () -> Int = WallClock.millis) {
        self.displayName = displayName
        self.dialect = dialect
        self.settings = settings
        self.client = client
        self.clock = clock
    }

    public func startStream(_ request: ChatRequest, onEvent: @escaping @Sendable (ProviderEvent) -> Void) -> any ProviderStream {
        let upstream = dialect.httpRequest(for: request)
        let httpRequest = HTTPStreamRequest(url: upstream.url, method: .post, headers: upstream.headers, body: upstream.body,
                                            connectTimeout: settings.connectTimeout,
                                            totalTimeout: settings.totalTimeout,
                                            stallTimeout: settings.stallTimeout)
        let stream = UpstreamStream(client: client, dialect: dialect, decoder: dialect.makeDecoder(for: request),
                                    secrets: Self.credentials(in: upstream.headers), clock: clock, onEvent: onEvent)
        stream.attach(client.start(httpRequest, handler: stream))
        return stream
    }
}

extension UpstreamProvider {
    /// The credentials a request carries (`Authorization: Bearer …`, `x-api-key`, `api-key`), to be
    /// redacted from whatever the upstream says back.
    static func credentials(in headers: [(name: String, value: String)]) -> [String] {
        headers.compactMap { header in
            switch header.name.lowercased() {
            case "authorization":
                let value = header.value.trimmingCharacters(in: .whitespaces)
                guard let space = value.firstIndex(of: " ") else { return value }
                return String(value[value.index(after: space)...]).trimmingCharacters(in: .whitespaces)
            case "x-api-key", "api-key":
                return header.value.trimmingCharacters(in: .whitespaces)
            default:
                return nil
            }
        }.filter { !$0.isEmpty }
    }
}

/// Settings of one OpenAI-compatible upstream (OpenAI, vLLM, llama.cpp server, LiteLLM, Ollama `/v1`).
public struct OpenAIProviderConfig: Sendable {
    /// Up to and including the version segment, e.g. `http://127.0.0.1:8081/v1`.
    public var baseURL: String
    /// Upstream model name sent in each request.
    public var model: String
    /// Bearer token; nil or empty sends no Authorization header.
    public var apiKey: String?
    public var connectTimeout: Duration
    public var totalTimeout: Duration
    /// No byte at all for this long ends the transfer; nil for none. Off by default: a CPU
    /// llama.cpp can think for minutes over a long prompt before its first byte.
    public var stallTimeout: Duration?
    /// Cap on output tokens sent as `max_tokens`; a request's own cap can only lower it.
    public var maxTokens: Int?
    /// Sampling temperature; nil leaves it to the server.
    public var temperature: Double?
    /// Shown to users in `turn.start`; defaults to `model`.
    public var displayName: String

    public init(baseURL: String, model: String, apiKey: String? = nil, connectTimeout: Duration = .seconds(10),
                totalTimeout: Duration = .seconds(300), stallTimeout: Duration? = nil, maxTokens: Int? = nil,
                temperature: Double? = nil, displayName: String? = nil) {
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

public typealias OpenAIProvider = UpstreamProvider<OpenAIDialect>

extension UpstreamProvider where Dialect == OpenAIDialect {
    public convenience init(config: OpenAIProviderConfig, client: HTTPStreamClient) {
        let builder = OpenAIRequestBuilder(model: config.model, apiKey: config.apiKey, maxTokens: config.maxTokens,
                                           temperature: config.temperature)
        self.init(displayName: config.displayName, dialect: OpenAIDialect(baseURL: config.baseURL, builder: builder),
                  settings: UpstreamConnectionSettings(connectTimeout: config.connectTimeout,
                                                       totalTimeout: config.totalTimeout,
                                                       stallTimeout: config.stallTimeout),
                  client: client)
    }
}
