/// A logical model (`llm.models.NAME`), in the spirit of LiteLLM's model list: what clients and
/// routing rules name, served by one or more deployments, with fallback models to try when none
/// of them can answer.
public struct ModelConfig: Sendable, Equatable {
    public var name: String
    public var deployments: [DeploymentConfig]
    /// Other logical models, tried in order when every deployment of this one failed before the
    /// first token.
    public var fallbacks: [String]

    public init(name: String, deployments: [DeploymentConfig], fallbacks: [String] = []) {
        self.name = name
        self.deployments = deployments
        self.fallbacks = fallbacks
    }
}

/// The upstream APIs the gateway speaks.
public enum ProviderKind: String, Sendable, Equatable, CaseIterable {
    /// Built in: deterministic text, no LLM called.
    case demo
    /// OpenAI-compatible chat completions (OpenAI, vLLM, llama.cpp, LiteLLM, Ollama `/v1`).
    case openai
    /// Anthropic Messages API.
    case anthropic
    /// Ollama's native `/api/chat`.
    case ollama
}

/// One place a model can be served from.
public struct DeploymentConfig: Sendable, Equatable {
    public enum Backend: Sendable, Equatable {
        case demo(DemoModelConfig)
        case http(ProviderKind, HTTPUpstreamConfig)
    }

    /// Unique across the config: the `id` key, else `MODEL` for a single deployment and
    /// `MODEL#N` (1-based) for one of several. Shown in usage records, never to end users.
    public var id: String
    public var backend: Backend
    /// Requests in flight at once on this node; nil for no limit beyond the worker pool.
    public var maxConcurrency: Int?
    public var timeouts = DeploymentTimeouts()
    /// List price; nil when unknown (cost then shows as unknown, not as 0).
    public var price: Price?
    /// Tokens the model takes in one request (prompt + reply); nil for no trimming.
    public var contextWindow: Int?

    public init(id: String, backend: Backend) {
        self.id = id
        self.backend = backend
    }

    public var provider: ProviderKind {
        switch backend {
        case .demo: return .demo
        case .http(let kind, _): return kind
        }
    }

    /// The output cap sent upstream, if any.
    public var maxTokens: Int? {
        if case .http(_, let http) = backend { return http.maxTokens }
        return nil
    }

    /// Tokens of `contextWindow` kept for the reply when trimming: `maxTokens`, else a quarter of
    /// the window up to 1024. Nil without a window.
    public var outputReserve: Int? {
        contextWindow.map { window in maxTokens ?? min(1024, window / 4) }
    }
}

public struct DemoModelConfig: Sendable, Equatable {
    public var tokensPerSecond: Double = 20
    public var tokens = 60
    public init() {}
}

/// Where and how to reach an HTTP upstream.
public struct HTTPUpstreamConfig: Sendable, Equatable {
    /// OpenAI: up to and including the version (`http://127.0.0.1:8081/v1`); Anthropic and
    /// Ollama: the server root (`https://api.anthropic.com`, `http://127.0.0.1:11434`).
    public var baseURL: String
    /// Model name sent upstream.
    public var model: String
    /// Name of the environment variable holding the API key; keys never live in config files.
    public var apiKeyEnv: String?
    public var maxTokens: Int? = nil
    /// Sampling temperature sent upstream; nil leaves it to the server's default.
    public var temperature: Double? = nil

    public init(baseURL: String, model: String, apiKeyEnv: String? = nil) {
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnv = apiKeyEnv
    }
}

/// The four timeouts of a deployment; each ends an attempt with its own error code.
public struct DeploymentTimeouts: Sendable, Equatable {
    /// DNS + TCP (+ TLS): `upstream_connect_timeout`.
    public var connectMillis = 5_000
    /// From the request to the first content token (keep-alives do not count):
    /// `upstream_first_token_timeout`. Generous: a CPU model may read a long prompt for a while.
    public var firstTokenMillis = 60_000
    /// Between two content tokens: `upstream_idle_timeout`.
    public var idleMillis = 30_000
    /// The whole attempt: `upstream_timeout`.
    public var totalSeconds = 300

    public init() {}
}
