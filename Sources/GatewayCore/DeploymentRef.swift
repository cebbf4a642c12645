/// One deployment of one logical model (`llm.models.NAME.deployments[i]`), as turns and the
/// deployment book name it.
public struct DeploymentRef: Hashable, Sendable, CustomStringConvertible {
    public var model: String
    public var deployment: String

    public init(model: String, deployment: String) {
        self.model = model
        self.deployment = deployment
    }

    public var description: String { deployment }
}

/// Whether a deployment can take another request now.
public enum DeploymentAvailability: Sendable, Equatable {
    case available
    /// At its `max_concurrency`; frees up as its requests end.
    case atCapacity
    /// Rate-limited (429): every worker on the node leaves it alone until then (ms since epoch).
    case coolingDown(untilMillis: Int)
}
