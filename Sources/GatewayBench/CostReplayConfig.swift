import GatewayCore

/// bench/cost-replay.json: the models with their windows and prices, the routing of the optimized
/// path and its cache. Read as strictly as the gateway's config, with errors naming the key.
public struct CostReplayConfig: Sendable {
    public struct Model: Sendable, Equatable {
        public var contextWindow: Int
        public var maxOutputTokens: Int
    }

    public struct Cache: Sendable, Equatable {
        public var maxEntries: Int
        public var maxBytes: Int
        public var ttlSeconds: Int
    }

    public var naiveModel: String
    public var defaultModel: String
    public var models: [String: Model]
    public var prices: PriceTable
    public var routing: RoutingConfig
    public var temperature: Double?
    public var cache: Cache
    public var secondsBetweenTurns: Int

    public static func load(path: String) throws -> CostReplayConfig {
        let document = try JSONFields.readDocument(path: path)
        do { return try parse(document) } catch { throw BenchError("\(path): \(error)") }
    }

    static func parse(_ document: JSONValue) throws(ConfigError) -> CostReplayConfig {
        let root = try JSONFields(document, path: "")
        try root.rejectUnknownKeys(allowed: ["naive_model", "default_model", "models", "prices", "routing", "temperature",
                                             "cache", "seconds_between_turns"])
        let modelsSection = try JSONFields(root.raw("models"), path: "models")
        var models: [String: Model] = [:]
        for name in modelsSection.keys {
            let fields = try JSONFields(modelsSection.raw(name), path: modelsSection.key(name))
            try fields.rejectUnknownKeys(allowed: ["context_window", "max_output_tokens"])
            let window = try fields.int("context_window", range: 1...10_000_000)
            let output = try fields.int("max_output_tokens", range: 1...max(1, window - 1))
            models[name] = Model(contextWindow: window, maxOutputTokens: output)
        }
        let cacheSection = try JSONFields(root.raw("cache"), path: "cache")
        try cacheSection.rejectUnknownKeys(allowed: ["max_entries", "max_bytes", "ttl_s"])
        let config = CostReplayConfig(
            naiveModel: try root.string("naive_model"),
            defaultModel: try root.string("default_model"),
            models: models,
            prices: try PriceTable.parse(root.raw("prices"), path: "prices"),
            routing: try RoutingConfig.parse(root.raw("routing"), path: "routing"),
            temperature: try root.optionalDouble("temperature", range: 0...2),
            cache: Cache(maxEntries: try cacheSection.int("max_entries", range: 1...100_000_000),
                         maxBytes: try cacheSection.int("max_bytes", range: 1...(1 << 40)),
                         ttlSeconds: try cacheSection.int("ttl_s", range: 1...(365 * 86_400))),
            secondsBetweenTurns: try root.int("seconds_between_turns", range: 0...86_400))
        try config.validate()
        return config
    }

    func validate() throws(ConfigError) {
        let known = Set(models.keys)
        let list = known.sorted().joined(separator: ", ")
        for (key, name) in [("naive_model", naiveModel), ("default_model", defaultModel)] where !known.contains(name) {
            throw ConfigError(key: key, problem: "'\(name)' is not in models (\(list))")
        }
        for name in known.sorted() where prices[name] == nil {
            throw ConfigError(key: "prices.\(name)", problem: "missing: every model needs a price")
        }
        try routing.validate(knownModels: known)
    }
}
