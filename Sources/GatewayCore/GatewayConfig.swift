/// The gateway's configuration. Defaults here are the embedded default (`make run` with no file) and
/// match config/gateway.json, which documents every key.
public struct GatewayConfig: Sendable, Equatable {
    public struct Server: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 8080
        public var staticRoot: String? = "web-demo"
        public var maxMessageBytes = 64 * 1024
        public var helloTimeoutSeconds = 10
        public var heartbeatSeconds = 25
        public var outboundQueueBytes = 1024 * 1024
        public var echoEndpoint = false
        public var echoMaxMessageBytes = 16 * 1024 * 1024
    }

    public struct Sessions: Sendable, Equatable {
        public var maxEvents = 4096
        public var idleTTLSeconds = 3600
        public var cancelOnAbandon = false
        public var maxTranscriptEntries = 1000
    }

    public struct Workers: Sendable, Equatable {
        public var concurrency = 16
        public var queueSize = 64
    }

    public struct LLM: Sendable, Equatable {
        public var defaultModel = "demo"
        public var systemPrompt = "You are a helpful assistant."
        public var historyMessages = 40
        public var models: [String: ModelConfig] = ["demo": .demo(DemoModelConfig())]
    }

    public var nodeID: String? = nil
    public var server = Server()
    public var sessions = Sessions()
    public var workers = Workers()
    public var llm = LLM()

    public init() {}
}

public enum ModelConfig: Sendable, Equatable {
    case demo(DemoModelConfig)
    case openai(OpenAIModelConfig)
}

public struct DemoModelConfig: Sendable, Equatable {
    public var tokensPerSecond: Double = 20
    public var tokens = 60
    public init() {}
}

public struct OpenAIModelConfig: Sendable, Equatable {
    /// Base URL up to and including the version, e.g. `http://127.0.0.1:8081/v1`.
    public var baseURL: String
    /// Model name sent upstream.
    public var model: String
    /// Name of the environment variable holding the API key; keys never live in config files.
    public var apiKeyEnv: String?
    public var connectTimeoutMillis = 5_000
    public var timeoutSeconds = 300
    public var maxTokens: Int? = nil
    /// Sampling temperature sent upstream; nil leaves it to the server's default.
    public var temperature: Double? = nil

    public init(baseURL: String, model: String, apiKeyEnv: String? = nil) {
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnv = apiKeyEnv
    }
}
