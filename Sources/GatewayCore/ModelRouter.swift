/// Picks the logical model of each turn: the tenant's override if it has one, else the first rule
/// whose condition holds, else the default model. The reason goes to the turn's log line.
public struct ModelRouter: Sendable, Equatable {
    public var defaultModel: String
    /// Tenant → model, checked before the rules (a tenant that pays for one model always gets it).
    public var tenantModels: [String: String]
    public var rules: [RoutingRule]

    public init(defaultModel: String, tenantModels: [String: String] = [:], rules: [RoutingRule] = []) {
        self.defaultModel = defaultModel
        self.tenantModels = tenantModels
        self.rules = rules
    }

    public func route(_ input: RoutingInput) -> RoutingDecision {
        if let tenant = input.tenant, let model = tenantModels[tenant] {
            return RoutingDecision(model: model, reason: "tenant \(tenant) override")
        }
        if let rule = rules.first(where: { $0.condition.matches(input) }) {
            return RoutingDecision(model: rule.model, reason: rule.reason)
        }
        return RoutingDecision(model: defaultModel, reason: "default")
    }
}

public struct RoutingDecision: Sendable, Equatable {
    public var model: String
    public var reason: String
    public init(model: String, reason: String) {
        self.model = model
        self.reason = reason
    }
}
