/// One routing rule: when `condition` holds, the turn goes to `model` (a key of `llm.models`).
public struct RoutingRule: Sendable, Equatable {
    public var condition: RoutingCondition
    public var model: String
    /// Logged with the turn; the condition's summary when config gives none.
    public var reason: String

    public init(when condition: RoutingCondition, model: String, reason: String? = nil) {
        self.condition = condition
        self.model = model
        self.reason = reason ?? condition.summary
    }
}
