/// Reads `llm.models` and `llm.retry`. A model is either one deployment written inline
/// (`{"provider": "openai", ...}`) or `{"deployments": [...], "fallbacks": [...]}`; both forms take
/// `fallbacks`. Every key is type- and range-checked, and errors name the key path.
enum ModelConfigParser {
    static let deploymentKeys: Set<String> = [
        "provider", "id", "max_concurrency", "connect_timeout_ms", "first_token_timeout_ms", "idle_timeout_ms",
        "timeout_s", "price", "context_window",
    ]
    static let demoKeys: Set<String> = ["tokens_per_second", "tokens"]
    static let httpKeys: Set<String> = ["base_url", "model", "api_key_env", "max_tokens", "temperature"]

    static func models(_ section: ConfigSection) throws(ConfigError) -> [String: ModelConfig] {
        var models: [String: ModelConfig] = [:]
        for name in section.keys {
            models[name] = try model(name: name, ConfigSection(section.raw(name), path: section.key(name)))
        }
        return models
    }

    static func model(name: String, _ section: ConfigSection) throws(ConfigError) -> ModelConfig {
        let fallbacks = try section.stringArray("fallbacks")
        guard section.raw("deployments") != nil else {
            try section.rejectUnknownKeys(allowed: deploymentKeys.union(demoKeys).union(httpKeys).union(["fallbacks"]))
            return ModelConfig(name: name, deployments: [try deployment(section, defaultID: name)], fallbacks: fallbacks)
        }
        try section.rejectUnknownKeys(allowed: ["deployments", "fallbacks"])
        let elements = try section.array("deployments")
        guard !elements.isEmpty else { throw ConfigError(key: section.key("deployments"), problem: "must list at least one deployment") }
        var deployments: [DeploymentConfig] = []
        for (index, element) in elements.enumerated() {
            let entry = try ConfigSection(element.value, path: element.path)
            try entry.rejectUnknownKeys(allowed: deploymentKeys.union(demoKeys).union(httpKeys))
            deployments.append(try deployment(entry, defaultID: elements.count == 1 ? name : "\(name)#\(index + 1)"))
        }
        return ModelConfig(name: name, deployments: deployments, fallbacks: fallbacks)
    }

    static func deployment(_ section: ConfigSection, defaultID: String) throws(ConfigError) -> DeploymentConfig {
        let choices = ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")
        guard let providerName = try section.optionalString("provider") else {
            throw ConfigError(key: section.key("provider"), problem: "missing (one of: \(choices))")
        }
        guard let provider = ProviderKind(rawValue: providerName) else {
            throw ConfigError(key: section.key("provider"), problem: "unknown provider '\(providerName)' (one of: \(choices))")
        }
        let backend: DeploymentConfig.Backend
        if provider == .demo {
            if let key = section.keys.first(where: httpKeys.contains) {
                throw ConfigError(key: section.key(key), problem: "not a setting of the demo provider")
            }
            var demo = DemoModelConfig()
            demo.tokensPerSecond = try section.double("tokens_per_second", default: demo.tokensPerSecond, range: 0.1...100_000)
            demo.tokens = try section.int("tokens", default: demo.tokens, range: 1...1_000_000)
            backend = .demo(demo)
        } else {
            if let key = section.keys.first(where: demoKeys.contains) {
                throw ConfigError(key: section.key(key), problem: "only the demo provider has this setting")
            }
            backend = .http(provider, try http(section, provider: provider))
        }
        var deployment = DeploymentConfig(id: try section.optionalString("id") ?? defaultID, backend: backend)
        deployment.maxConcurrency = try section.optionalInt("max_concurrency", range: 1...100_000)
        var timeouts = DeploymentTimeouts()
        timeouts.connectMillis = try section.int("connect_timeout_ms", default: timeouts.connectMillis, range: 1...600_000)
        timeouts.firstTokenMillis = try section.int("first_token_timeout_ms", default: timeouts.firstTokenMillis, range: 1...3_600_000)
        timeouts.idleMillis = try section.int("idle_timeout_ms", default: timeouts.idleMillis, range: 1...3_600_000)
        timeouts.totalSeconds = try section.int("timeout_s", default: timeouts.totalSeconds, range: 1...86_400)
        deployment.timeouts = timeouts
        if let price = section.raw("price"), price != .null {
            deployment.price = try Price.parse(ConfigSection(price, path: section.key("price")))
        }
        deployment.contextWindow = try section.optionalInt("context_window", range: 256...100_000_000)
        return deployment
    }

    static func http(_ section: ConfigSection, provider: ProviderKind) throws(ConfigError) -> HTTPUpstreamConfig {
        guard let baseURL = try section.optionalString("base_url") else {
            throw ConfigError(key: section.key("base_url"), problem: "missing (e.g. \(exampleBaseURL(provider)))")
        }
        guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://") else {
            throw ConfigError(key: section.key("base_url"), problem: "must start with http:// or https://")
        }
        guard let model = try section.optionalString("model") else {
            throw ConfigError(key: section.key("model"), problem: "missing (the upstream model name)")
        }
        var http = HTTPUpstreamConfig(baseURL: baseURL, model: model, apiKeyEnv: try section.optionalString("api_key_env"))
        http.maxTokens = try section.optionalInt("max_tokens", range: 1...1_000_000)
        http.temperature = try section.optionalDouble("temperature", range: 0...2)
        return http
    }

    static func exampleBaseURL(_ provider: ProviderKind) -> String {
        switch provider {
        case .openai, .demo: return "http://127.0.0.1:8081/v1"
        case .anthropic: return "https://api.anthropic.com"
        case .ollama: return "http://127.0.0.1:11434"
        }
    }

    static func retry(_ section: ConfigSection) throws(ConfigError) -> RetryPolicy {
        try section.rejectUnknownKeys(allowed: ["budget_ms", "attempts_per_deployment", "backoff_base_ms", "backoff_max_ms",
                                                "max_retry_after_ms", "cooldown_ms"])
        var policy = RetryPolicy()
        policy.budgetMillis = try section.int("budget_ms", default: policy.budgetMillis, range: 0...600_000)
        policy.attemptsPerDeployment = try section.int("attempts_per_deployment", default: policy.attemptsPerDeployment, range: 1...10)
        policy.baseBackoffMillis = try section.int("backoff_base_ms", default: policy.baseBackoffMillis, range: 1...60_000)
        policy.maxBackoffMillis = try section.int("backoff_max_ms", default: policy.maxBackoffMillis, range: 1...600_000)
        policy.maxRetryAfterMillis = try section.int("max_retry_after_ms", default: policy.maxRetryAfterMillis, range: 0...600_000)
        policy.cooldownMillis = try section.int("cooldown_ms", default: policy.cooldownMillis, range: 0...3_600_000)
        return policy
    }

    /// Fallbacks name known models, deployment ids are unique, and no model falls back to itself.
    static func validate(_ models: [String: ModelConfig]) throws(ConfigError) {
        var seen: [String: String] = [:]
        for name in models.keys.sorted() {
            let model = models[name]!
            for fallback in model.fallbacks {
                guard models[fallback] != nil, fallback != name else {
                    throw ConfigError(key: "llm.models.\(name).fallbacks",
                                      problem: fallback == name ? "a model cannot fall back to itself" : "'\(fallback)' is not in llm.models")
                }
            }
            for deployment in model.deployments {
                if let other = seen[deployment.id] {
                    throw ConfigError(key: "llm.models.\(name)", problem: "deployment id '\(deployment.id)' is also used by model '\(other)'")
                }
                seen[deployment.id] = name
            }
        }
    }
}
