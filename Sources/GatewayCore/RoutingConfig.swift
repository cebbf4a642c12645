/// The `llm.routing` section: per-tenant models and ordered rules, read strictly (unknown keys and
/// wrong types are refused naming the key, e.g. `llm.routing.rules[0].when.max_char`).
///
/// ```json
/// "routing": {
///   "tenants": {"acme": "large"},
///   "rules": [
///     {"when": {"max_chars": 160, "has_code": false}, "model": "small", "reason": "short question"},
///     {"when": {"has_code": true}, "model": "large"}
///   ]
/// }
/// ```
/// `when` keys, all optional (a rule without `when` always matches): `max_chars`, `min_chars`,
/// `min_history`, `max_history` (integers ≥ 0, bounds inclusive), `has_code` (boolean),
/// `keywords_any` (non-empty list of words or phrases, see `KeywordMatcher`), `tenant` (a string
/// or a non-empty list). `reason` defaults to `RoutingCondition.summary`. Model names are checked
/// against the configured models by `validate(knownModels:)`, once all of the config is read.
public struct RoutingConfig: Sendable, Equatable {
    public var tenantModels: [String: String]
    public var rules: [RoutingRule]
    /// Where the section was read from, so validation errors name the key.
    public var path: String

    public init(tenantModels: [String: String] = [:], rules: [RoutingRule] = [], path: String = "llm.routing") {
        self.tenantModels = tenantModels
        self.rules = rules
        self.path = path
    }

    /// A missing or null section is no routing: every turn goes to the default model.
    public static func parse(_ value: JSONValue?, path: String = "llm.routing") throws(ConfigError) -> RoutingConfig {
        try parse(ConfigSection(value, path: path))
    }

    static func parse(_ section: ConfigSection) throws(ConfigError) -> RoutingConfig {
        try section.rejectUnknownKeys(allowed: ["tenants", "rules"])
        var config = RoutingConfig(path: section.path)

        let tenants = try ConfigSection(section.raw("tenants"), path: section.key("tenants"))
        for tenant in tenants.keys {
            config.tenantModels[tenant] = try modelName(tenants.raw(tenant), key: tenants.key(tenant))
        }

        let rulesKey = section.key("rules")
        switch section.raw("rules") {
        case nil, .null?: break
        case .array(let rules)?:
            for (index, rule) in rules.enumerated() {
                config.rules.append(try self.rule(ConfigSection(rule, path: "\(rulesKey)[\(index)]")))
            }
        case let other?: throw ConfigError(key: rulesKey, problem: "must be a list of rules, not \(other.typeName)")
        }
        return config
    }

    /// Refuses a tenant override or rule naming a model that is not configured.
    public func validate(knownModels: Set<String>) throws(ConfigError) {
        let known = knownModels.sorted().joined(separator: ", ")
        for (tenant, model) in tenantModels.sorted(by: { $0.key < $1.key }) where !knownModels.contains(model) {
            throw ConfigError(key: "\(path).tenants.\(tenant)", problem: "unknown model '\(model)' (known: \(known))")
        }
        for (index, rule) in rules.enumerated() where !knownModels.contains(rule.model) {
            throw ConfigError(key: "\(path).rules[\(index)].model", problem: "unknown model '\(rule.model)' (known: \(known))")
        }
    }

    public func router(defaultModel: String) -> ModelRouter {
        ModelRouter(defaultModel: defaultModel, tenantModels: tenantModels, rules: rules)
    }

    private static func rule(_ section: ConfigSection) throws(ConfigError) -> RoutingRule {
        try section.rejectUnknownKeys(allowed: ["when", "model", "reason"])
        let model = try modelName(section.raw("model"), key: section.key("model"))
        let condition = try self.condition(ConfigSection(section.raw("when"), path: section.key("when")))
        guard let reason = try section.optionalString("reason") else { return RoutingRule(when: condition, model: model) }
        guard !reason.isEmpty else { throw ConfigError(key: section.key("reason"), problem: "must not be empty (leave it out for the default)") }
        return RoutingRule(when: condition, model: model, reason: reason)
    }

    private static func condition(_ when: ConfigSection) throws(ConfigError) -> RoutingCondition {
        try when.rejectUnknownKeys(allowed: ["max_chars", "min_chars", "has_code", "keywords_any", "tenant", "min_history", "max_history"])
        let counts = 0...Int.max
        var condition = RoutingCondition()
        condition.maxChars = try when.optionalInt("max_chars", range: counts)
        condition.minChars = try when.optionalInt("min_chars", range: counts)
        condition.minHistory = try when.optionalInt("min_history", range: counts)
        condition.maxHistory = try when.optionalInt("max_history", range: counts)
        try requireOrdered(condition.minChars, condition.maxChars, minKey: when.key("min_chars"), maxName: "max_chars")
        try requireOrdered(condition.minHistory, condition.maxHistory, minKey: when.key("min_history"), maxName: "max_history")
        switch when.raw("has_code") {
        case nil, .null?: break
        default: condition.hasCode = try when.bool("has_code", default: false)
        }
        if let keywords = try stringList(when.raw("keywords_any"), key: when.key("keywords_any"), allowsSingle: false) {
            condition.keywordsAny = KeywordMatcher(keywords: keywords)
        }
        condition.tenants = try stringList(when.raw("tenant"), key: when.key("tenant"), allowsSingle: true)
        return condition
    }

    private static func requireOrdered(_ low: Int?, _ high: Int?, minKey: String, maxName: String) throws(ConfigError) {
        if let low, let high, low > high {
            throw ConfigError(key: minKey, problem: "must not exceed \(maxName) (\(low) > \(high)): no message could match")
        }
    }

    private static func modelName(_ value: JSONValue?, key: String) throws(ConfigError) -> String {
        switch value {
        case nil, .null?: throw ConfigError(key: key, problem: "missing (a key of llm.models)")
        case .string(let name)? where !name.isEmpty: return name
        case .string?: throw ConfigError(key: key, problem: "must not be empty (a key of llm.models)")
        case let other?: throw ConfigError(key: key, problem: "must be a model name (a string), not \(other.typeName)")
        }
    }

    /// A non-empty list of non-empty strings, or with `allowsSingle` one string; nil when absent.
    private static func stringList(_ value: JSONValue?, key: String, allowsSingle: Bool) throws(ConfigError) -> [String]? {
        let expected = allowsSingle ? "a string or a list of strings" : "a list of strings"
        switch value {
        case nil, .null?: return nil
        case .string(let text)? where allowsSingle:
            guard !text.isBlankKeyword else { throw ConfigError(key: key, problem: "must not be empty") }
            return [text]
        case .array(let items)?:
            guard !items.isEmpty else { throw ConfigError(key: key, problem: "must not be empty (leave it out instead)") }
            var strings: [String] = []
            for (index, item) in items.enumerated() {
                guard case .string(let text) = item else {
                    throw ConfigError(key: "\(key)[\(index)]", problem: "must be a string, not \(item.typeName)")
                }
                guard !text.isBlankKeyword else {
                    throw ConfigError(key: "\(key)[\(index)]", problem: "must not be empty")
                }
                strings.append(text)
            }
            return strings
        case let other?: throw ConfigError(key: key, problem: "must be \(expected), not \(other.typeName)")
        }
    }
}

private extension String {
    /// Empty, only whitespace, or a lone `*` (a keyword prefix of nothing).
    var isBlankKeyword: Bool { filter { !$0.isWhitespace }.isEmpty || filter { !$0.isWhitespace } == "*" }
}
