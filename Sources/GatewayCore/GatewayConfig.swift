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
        /// Turns this node runs at once; 0 (Redis mode only) runs none, leaving them to other nodes
        /// and `chat-gateway worker` processes.
        public var concurrency = 16
        /// Turns waiting for a worker: on this node, or cluster-wide in Redis mode.
        public var queueSize = 64
        /// Redis mode: how long a worker's claim on a turn lasts without renewal. A turn whose
        /// worker died is retried (nothing streamed yet) or ended `worker_lost` within this time.
        public var leaseSeconds = 10
    }

    /// `redis`: with a URL, sessions, turns, presence and rate limits are shared through Redis and
    /// any number of nodes can run on it; without one (the default), this node keeps everything in memory.
    public struct Redis: Sendable, Equatable {
        public var url: String? = nil
        /// Every key and channel starts with this (several gateways can share one database).
        public var prefix = "cg"
        public var commandTimeoutMillis = 2000
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
    public var redis = Redis()
    public var llm = LLM()
    public var usage = Usage()
    public var budgets = UsageLedger.Budgets()
    public var limits = RateLimits()

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
