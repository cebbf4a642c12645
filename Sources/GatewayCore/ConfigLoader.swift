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
        try root.rejectUnknownKeys(allowed: ["node", "server", "sessions", "workers", "llm"])

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
        try workers.rejectUnknownKeys(allowed: ["concurrency", "queue_size"])
        config.workers.concurrency = try workers.int("concurrency", default: config.workers.concurrency, range: 1...10_000)
        config.workers.queueSize = try workers.int("queue_size", default: config.workers.queueSize, range: 0...1_000_000)

        let llm = try ConfigSection(root.raw("llm"), path: "llm")
        try llm.rejectUnknownKeys(allowed: ["default_model", "system_prompt", "history_messages", "models"])
        config.llm.defaultModel = try llm.string("default_model", default: config.llm.defaultModel)
        config.llm.systemPrompt = try llm.string("system_prompt", default: config.llm.systemPrompt)
        config.llm.historyMessages = try llm.int("history_messages", default: config.llm.historyMessages, range: 0...10_000)
        if llm.raw("models") != nil {
            let models = try ConfigSection(llm.raw("models"), path: "llm.models")
            var parsed: [String: ModelConfig] = [:]
            for name in models.keys {
                parsed[name] = try model(ConfigSection(models.raw(name), path: models.key(name)))
            }
            config.llm.models = parsed
        }
    }

    static func model(_ section: ConfigSection) throws(ConfigError) -> ModelConfig {
        guard let provider = try section.optionalString("provider") else {
            throw ConfigError(key: section.key("provider"), problem: "missing (one of: demo, openai)")
        }
        switch provider {
        case "demo":
            try section.rejectUnknownKeys(allowed: ["provider", "tokens_per_second", "tokens"])
            var demo = DemoModelConfig()
            demo.tokensPerSecond = try section.double("tokens_per_second", default: demo.tokensPerSecond, range: 0.1...100_000)
            demo.tokens = try section.int("tokens", default: demo.tokens, range: 1...1_000_000)
            return .demo(demo)
        case "openai":
            try section.rejectUnknownKeys(allowed: ["provider", "base_url", "model", "api_key_env", "connect_timeout_ms", "timeout_s", "max_tokens", "temperature"])
            guard let baseURL = try section.optionalString("base_url") else {
                throw ConfigError(key: section.key("base_url"), problem: "missing (e.g. http://127.0.0.1:8081/v1)")
            }
            guard let model = try section.optionalString("model") else {
                throw ConfigError(key: section.key("model"), problem: "missing (the upstream model name)")
            }
            var openai = OpenAIModelConfig(baseURL: baseURL, model: model, apiKeyEnv: try section.optionalString("api_key_env"))
            openai.connectTimeoutMillis = try section.int("connect_timeout_ms", default: openai.connectTimeoutMillis, range: 1...600_000)
            openai.timeoutSeconds = try section.int("timeout_s", default: openai.timeoutSeconds, range: 1...86_400)
            openai.maxTokens = try section.optionalInt("max_tokens", range: 1...1_000_000)
            openai.temperature = try section.optionalDouble("temperature", range: 0...2)
            return .openai(openai)
        default:
            throw ConfigError(key: section.key("provider"), problem: "unknown provider '\(provider)' (one of: demo, openai)")
        }
    }

    /// `CHAT_GATEWAY_OPENAI_BASE_URL` (+ `_MODEL`, optional `_API_KEY`) make the default model an
    /// OpenAI-compatible deployment, named after the upstream model, so a deployment needs no config file.
    static func applyEnvironment(_ environment: [String: String], to config: inout GatewayConfig) throws(ConfigError) {
        if let host = environment["CHAT_GATEWAY_HOST"], !host.isEmpty { config.server.host = host }
        if let port = environment["CHAT_GATEWAY_PORT"], !port.isEmpty {
            guard let number = Int(port), (1...65535).contains(number) else {
                throw ConfigError(key: "CHAT_GATEWAY_PORT", problem: "must be a port number, got '\(port)'")
            }
            config.server.port = number
        }
        if let node = environment["CHAT_GATEWAY_NODE_ID"], !node.isEmpty { config.nodeID = node }
        if let baseURL = environment["CHAT_GATEWAY_OPENAI_BASE_URL"], !baseURL.isEmpty {
            guard let model = environment["CHAT_GATEWAY_OPENAI_MODEL"], !model.isEmpty else {
                throw ConfigError(key: "CHAT_GATEWAY_OPENAI_MODEL", problem: "must be set when CHAT_GATEWAY_OPENAI_BASE_URL is")
            }
            config.llm.models[model] = .openai(OpenAIModelConfig(baseURL: baseURL, model: model, apiKeyEnv: "CHAT_GATEWAY_OPENAI_API_KEY"))
            config.llm.defaultModel = model
        }
    }

    static func validate(_ config: GatewayConfig) throws(ConfigError) {
        guard config.llm.models[config.llm.defaultModel] != nil else {
            throw ConfigError(key: "llm.default_model", problem: "'\(config.llm.defaultModel)' is not in llm.models (\(config.llm.models.keys.sorted().joined(separator: ", ")))")
        }
        for (name, model) in config.llm.models {
            guard case .openai(let openai) = model else { continue }
            guard openai.baseURL.hasPrefix("http://") || openai.baseURL.hasPrefix("https://") else {
                throw ConfigError(key: "llm.models.\(name).base_url", problem: "must start with http:// or https://")
            }
        }
        guard !config.server.host.isEmpty else { throw ConfigError(key: "server.host", problem: "must not be empty") }
    }
}
