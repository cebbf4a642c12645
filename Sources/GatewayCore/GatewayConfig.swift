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
        public var retry = RetryPolicy()
        /// Which model a turn goes to (`llm.routing`); empty: always `defaultModel`.
        public var routing = RoutingConfig()
        public var cache = ResponseCacheSettings()
        public var models: [String: ModelConfig] = ["demo": ModelConfig(name: "demo", deployments: [
            DeploymentConfig(id: "demo", backend: .demo(DemoModelConfig()))])]
    }

    public struct Usage: Sendable, Equatable {
        /// A JSON line per turn is appended here (the usage log); nil for none.
        public var logPath: String? = nil
    }

    public var nodeID: String? = nil
    public var server = Server()
    public var sessions = Sessions()
    public var workers = Workers()
    public var llm = LLM()
    public var usage = Usage()
    public var budgets = UsageLedger.Budgets()

    public init() {}
}

/// `llm.cache`: the exact response cache (memory on this node).
public struct ResponseCacheSettings: Sendable, Equatable {
    public var enabled = false
    public var ttlSeconds = 3600
    public var maxEntries = 10_000
    public var maxBytes = 64 << 20
    public init() {}
}
