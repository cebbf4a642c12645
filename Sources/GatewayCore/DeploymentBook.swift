/// What this node knows about its deployments right now: requests in flight against each (for
/// `max_concurrency`) and cool-downs after a 429, shared by every worker on the node. A value
/// type; the app guards one instance with a lock.
public struct DeploymentBook: Sendable {
    private var limits: [DeploymentRef: Int] = [:]
    private var inFlight: [DeploymentRef: Int] = [:]
    private var coolingUntil: [DeploymentRef: Int] = [:]

    /// `limits`: max concurrent requests per deployment; deployments not listed are unlimited.
    public init(limits: [DeploymentRef: Int] = [:]) {
        self.limits = limits
    }

    public func availability(of deployment: DeploymentRef, now: Int) -> DeploymentAvailability {
        if let until = coolingUntil[deployment], until > now { return .coolingDown(untilMillis: until) }
        if let limit = limits[deployment], inFlight[deployment, default: 0] >= limit { return .atCapacity }
        return .available
    }

    /// Takes a slot; false (nothing taken) when the deployment is not available.
    public mutating func acquire(_ deployment: DeploymentRef, now: Int) -> Bool {
        guard availability(of: deployment, now: now) == .available else { return false }
        inFlight[deployment, default: 0] += 1
        return true
    }

    public mutating func release(_ deployment: DeploymentRef) {
        guard let count = inFlight[deployment], count > 0 else { return }
        inFlight[deployment] = count == 1 ? nil : count - 1
    }

    /// Keeps every worker off `deployment` until `untilMillis` (a later cool-down extends, an
    /// earlier one never shortens).
    public mutating func coolDown(_ deployment: DeploymentRef, untilMillis: Int) {
        coolingUntil[deployment] = max(coolingUntil[deployment] ?? 0, untilMillis)
    }

    public func inFlightCount(_ deployment: DeploymentRef) -> Int { inFlight[deployment, default: 0] }
}
