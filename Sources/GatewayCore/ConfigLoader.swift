/// Builds a `GatewayConfig` from an optional JSON file's bytes and the environment. Environment
/// overrides win over the file; see config/gateway.json and README for the variables.
public enum ConfigLoader {
    public static func load(json: [UInt8]?, environment: [String: String]) throws(ConfigError) -> GatewayConfig {
        var config = GatewayConfig()
        if let json {
            let document: JSONValue
            do { document = try JSONValue.parse(json) } catch { throw ConfigError(key: "", problem: "\(error)") }
            try apply(document, to: &config)
        }
        try applyEnvironment(environment, to: &config)
        try validate(config)
        return config
    }

    static func apply(_ document: JSONValue, to config: inout GatewayConfig) throws(ConfigError) {
        let root = try ConfigSection(document, path: "")
        try root.rejectUnknownKeys(allowed: ["node", "server", "sessions", "workers", "redis", "llm", "usage", "budgets", "limits"])

        let usage = try ConfigSection(root.raw("usage"), path: "usage")
        try usage.rejectUnknownKeys(allowed: ["log_path"])
        config.usage.logPath = try usage.optionalString("log_path")

        let budgets = try ConfigSection(root.raw("budgets"), path: "budgets")
        try budgets.rejectUnknownKeys(allowed: ["default_cost_per_day", "tenants"])
        config.budgets.defaultCostPerDay = try budgets.optionalDouble("default_cost_per_day", range: 0...1e9)
        let tenants = try ConfigSection(budgets.raw("tenants"), path: "budgets.tenants")
        for tenant in tenants.keys {
            config.budgets.costPerDay[tenant] = try tenants.optionalDouble(tenant, range: 0...1e9)
        }

        config.limits = try RateLimits.parse(ConfigSection(root.raw("limits"), path: "limits"))

        let node = try ConfigSection(root.raw("node"), path: "node")
        try node.rejectUnknownKeys(allowed: ["id"])
        config.nodeID = try node.optionalString("id")

        let server = try ConfigSection(root.raw("server"), path: "server")
        try server.rejectUnknownKeys(allowed: ["host", "port", "static_root", "max_message_bytes", "hello_timeout_s",
                                               "heartbeat_s", "outbound_queue_bytes", "echo_endpoint", "echo_max_message_bytes"])
        var s = config.server
        s.host = try server.string("host", default: s.host)
        s.port = try server.int("port", default: s.port, range: 1...65535)
        if server.raw("static_root") == .null { s.staticRoot = nil } else { s.staticRoot = try server.optionalString("static_root") ?? s.staticRoot }
        s.maxMessageBytes = try server.int("max_message_bytes", default: s.maxMessageBytes, range: 256...(16 << 20))
        s.helloTimeoutSeconds = try server.int("hello_timeout_s", default: s.helloTimeoutSeconds, range: 1...300)
        s.heartbeatSeconds = try server.int("heartbeat_s", default: s.heartbeatSeconds, range: 1...3600)
        s.outboundQueueBytes = try server.int("outbound_queue_bytes", default: s.outboundQueueBytes, range: 4096...(1 << 30))
        s.echoEndpoint = try server.bool("echo_endpoint", default: s.echoEndpoint)
        s.echoMaxMessageBytes = try server.int("echo_max_message_bytes", default: s.echoMaxMessageBytes, range: 1024...(1 << 30))
        config.server = s

        let sessions = try ConfigSection(root.raw("sessions"), path: "sessions")
        try sessions.rejectUnknownKeys(allowed: ["max_events", "idle_ttl_s", "cancel_on_abandon", "max_transcript_entries"])
        config.sessions.maxEvents = try sessions.int("max_events", default: config.sessions.maxEvents, range: 1...1_000_000)
        config.sessions.idleTTLSeconds = try sessions.int("idle_ttl_s", default: config.sessions.idleTTLSeconds, range: 1...(30 * 86400))
        config.sessions.cancelOnAbandon = try sessions.bool("cancel_on_abandon", default: config.sessions.cancelOnAbandon)
        config.sessions.maxTranscriptEntries = try sessions.int("max_transcript_entries", default: config.sessions.maxTranscriptEntries, range: 2...100_000)

        let workers = try ConfigSection(root.raw("workers"), path: "workers")
        try workers.rejectUnknownKeys(allowed: ["concurrency", "queue_size", "lease_s"])
        config.workers.concurrency = try workers.int("concurrency", default: config.workers.concurrency, range: 0...10_000)
        config.workers.queueSize = try workers.int("queue_size", default: config.workers.queueSize, range: 0...1_000_000)
        config.workers.leaseSeconds = try workers.int("lease_s", default: config.workers.leaseSeconds, range: 2...3600)

        let redis = try ConfigSection(root.raw("redis"), path: "redis")
        try redis.rejectUnknownKeys(allowed: ["url", "prefix", "command_timeout_ms"])
        config.redis.url = try redis.optionalString("url")
        config.redis.prefix = try redis.string("prefix", default: config.redis.prefix)
        config.redis.commandTimeoutMillis = try redis.int("command_timeout_ms", default: config.redis.commandTimeoutMillis,
                                                          range: 50...60_000)

        let llm = try ConfigSection(root.raw("llm"), path: "llm")
        try llm.rejectUnknownKeys(allowed: ["default_model", "system_prompt", "history_messages", "retry", "models",
                                            "routing", "cache"])
        config.llm.defaultModel = try llm.string("default_model", default: config.llm.defaultModel)
        config.llm.systemPrompt = try llm.string("system_prompt", default: config.llm.systemPrompt)
        config.llm.historyMessages = try llm.int("history_messages", default: config.llm.historyMessages, range: 0...10_000)
        config.llm.retry = try ModelConfigParser.retry(ConfigSection(llm.raw("retry"), path: "llm.retry"))
        config.llm.routing = try RoutingConfig.parse(ConfigSection(llm.raw("routing"), path: "llm.routing"))
        let cache = try ConfigSection(llm.raw("cache"), path: "llm.cache")
        try cache.rejectUnknownKeys(allowed: ["enabled", "ttl_s", "max_entries", "max_bytes"])
        config.llm.cache.enabled = try cache.bool("enabled", default: config.llm.cache.enabled)
        config.llm.cache.ttlSeconds = try cache.int("ttl_s", default: config.llm.cache.ttlSeconds, range: 1...(30 * 86400))
        config.llm.cache.maxEntries = try cache.int("max_entries", default: config.llm.cache.maxEntries, range: 1...10_000_000)
        config.llm.cache.maxBytes = try cache.int("max_bytes", default: config.llm.cache.maxBytes, range: 1024...(1 << 40))
        if llm.raw("models") != nil {
            config.llm.models = try ModelConfigParser.models(ConfigSection(llm.raw("models"), path: "llm.models"))
        }
    }

    /// `CHAT_GATEWAY_{OPENAI,ANTHROPIC,OLLAMA}_BASE_URL` + `_MODEL` (+ optional `_API_KEY`, not for
    /// Ollama) make the default model such a deployment, named after the upstream model, so a
    /// deployment needs no config file. With several set, the last of OpenAI, Anthropic, Ollama wins
    /// the default; all are added.
    static func applyEnvironment(_ environment: [String: String], to config: inout GatewayConfig) throws(ConfigError) {
        if let host = environment["CHAT_GATEWAY_HOST"], !host.isEmpty { config.server.host = host }
        if let port = environment["CHAT_GATEWAY_PORT"], !port.isEmpty {
            guard let number = Int(port), (1...65535).contains(number) else {
                throw ConfigError(key: "CHAT_GATEWAY_PORT", problem: "must be a port number, got '\(port)'")
            }
            config.server.port = number
        }
        if let node = environment["CHAT_GATEWAY_NODE_ID"], !node.isEmpty { config.nodeID = node }
        if let url = environment["CHAT_GATEWAY_REDIS_URL"], !url.isEmpty { config.redis.url = url }
        for provider in [ProviderKind.openai, .anthropic, .ollama] {
            let prefix = "CHAT_GATEWAY_\(provider.rawValue.uppercased())_"
            guard let baseURL = environment[prefix + "BASE_URL"], !baseURL.isEmpty else { continue }
            guard let model = environment[prefix + "MODEL"], !model.isEmpty else {
                throw ConfigError(key: prefix + "MODEL", problem: "must be set when \(prefix)BASE_URL is")
            }
            guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://") else {
                throw ConfigError(key: prefix + "BASE_URL", problem: "must start with http:// or https://")
            }
            let http = HTTPUpstreamConfig(baseURL: baseURL, model: model,
                                          apiKeyEnv: provider == .ollama ? nil : prefix + "API_KEY")
            config.llm.models[model] = ModelConfig(name: model, deployments: [
                DeploymentConfig(id: "\(provider.rawValue)-env", backend: .http(provider, http))])
            config.llm.defaultModel = model
        }
    }

    static func validate(_ config: GatewayConfig) throws(ConfigError) {
        guard config.llm.models[config.llm.defaultModel] != nil else {
            throw ConfigError(key: "llm.default_model", problem: "'\(config.llm.defaultModel)' is not in llm.models (\(config.llm.models.keys.sorted().joined(separator: ", ")))")
        }
        try ModelConfigParser.validate(config.llm.models)
        try validateContextWindows(config)
        try config.llm.routing.validate(knownModels: Set(config.llm.models.keys))
        guard !config.server.host.isEmpty else { throw ConfigError(key: "server.host", problem: "must not be empty") }
        if let url = config.redis.url, !(url.hasPrefix("redis://") || url.hasPrefix("unix://")) {
            throw ConfigError(key: "redis.url", problem: "must start with redis:// or unix://, got '\(url)'")
        }
        if config.redis.url == nil, config.workers.concurrency == 0 {
            throw ConfigError(key: "workers.concurrency", problem: "0 needs redis.url (without Redis no other node could run the turns)")
        }
        guard !config.redis.prefix.isEmpty, !config.redis.prefix.contains(where: \.isWhitespace) else {
            throw ConfigError(key: "redis.prefix", problem: "must be non-empty without spaces")
        }
    }

    /// Every deployment with a context window has room, after the reply's reserve, for the system
    /// prompt and the least a trimmed message can be cut to (`ContextTrimmer`): otherwise every turn
    /// sent to it would fail.
    static func validateContextWindows(_ config: GatewayConfig) throws(ConfigError) {
        let prompt = [ChatMessage(role: .system, content: config.llm.systemPrompt)]
        // A message cut to its first character (at most 4 bytes) and the marker, at the longest a
        // client message can make it.
        let leastMessage = TokenEstimator.tokensPerMessage + TokenEstimator.tokens(
            utf8Count: ContextTrimmer.cutMarker(omittedCharacters: config.server.maxMessageBytes).utf8.count + 4)
        for name in config.llm.models.keys.sorted() {
            for deployment in config.llm.models[name]!.deployments {
                guard let window = deployment.contextWindow, let reserve = deployment.outputReserve else { continue }
                let key = "llm.models.\(name).context_window"
                let which = config.llm.models[name]!.deployments.count > 1 ? "deployment '\(deployment.id)': " : ""
                guard reserve < window else {
                    throw ConfigError(key: key, problem: "\(which)\(window) tokens leave nothing for the prompt after max_tokens \(reserve)")
                }
                let needed = TokenEstimator.inputTokens(of: prompt) + leastMessage
                guard needed <= window - reserve else {
                    throw ConfigError(key: key, problem: "\(which)the system prompt and a message need at least \(needed) tokens "
                                      + "but \(window) minus the reply's \(reserve) leaves \(window - reserve)")
                }
            }
        }
    }
}
