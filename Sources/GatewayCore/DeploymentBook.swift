/// What this node knows about its deployments right now: requests in flight against each (for
/// `max_concurrency`), cool-downs after a 429, and the turns waiting for a full deployment, shared
/// by every worker on the node. A value type; the app guards one instance with a lock.
///
/// Waiting turns look again every so often (`TurnAttempts.capacityPollMillis`); so that a freed slot
/// goes to the turn that has waited longest rather than to whichever looks first, turns say what
/// they wait for (`waitForCapacity`) and ask `availability(of:for:now:)`, which keeps the slot for
/// the longest-waiting one.
public struct DeploymentBook: Sendable {
    private var limits: [DeploymentRef: Int] = [:]
    private var inFlight: [DeploymentRef: Int] = [:]
    private var coolingUntil: [DeploymentRef: Int] = [:]
    /// Per deployment, the turns waiting for a slot, by ticket (oldest first).
    private var waiters: [DeploymentRef: [(ticket: Int, turn: String)]] = [:]
    /// A waiting turn's place, kept while it waits for anything.
    private var tickets: [String: Int] = [:]
    private var nextTicket = 0

    /// `limits`: max concurrent requests per deployment; deployments not listed are unlimited.
    public init(limits: [DeploymentRef: Int] = [:]) {
        self.limits = limits
    }

    public func availability(of deployment: DeploymentRef, now: Int) -> DeploymentAvailability {
        if let until = coolingUntil[deployment], until > now { return .coolingDown(untilMillis: until) }
        if let limit = limits[deployment], inFlight[deployment, default: 0] >= limit { return .atCapacity }
        return .available
    }

    /// `deployment` as `turn` sees it: as `availability(of:now:)`, except that a free slot is held
    /// for the turn that has waited longest for it (others see `.atCapacity`).
    public func availability(of deployment: DeploymentRef, for turn: String, now: Int) -> DeploymentAvailability {
        let availability = availability(of: deployment, now: now)
        guard availability == .available, let first = waiters[deployment]?.first, first.turn != turn else { return availability }
        return .atCapacity
    }

    /// `turn` found `deployments` full and waits for them: it joins their queues, keeping its place
    /// where it already was, and leaves the queues of deployments it no longer waits for.
    public mutating func waitForCapacity(_ turn: String, on deployments: Set<DeploymentRef>) {
        guard !deployments.isEmpty else { return stopWaiting(turn) }
        let ticket = tickets[turn] ?? nextTicket
        if tickets[turn] == nil {
            tickets[turn] = ticket
            nextTicket += 1
        }
        for (deployment, queue) in waiters where !deployments.contains(deployment) && queue.contains(where: { $0.turn == turn }) {
            leave(deployment, turn)
        }
        for deployment in deployments where !(waiters[deployment] ?? []).contains(where: { $0.turn == turn }) {
            var queue = waiters[deployment] ?? []
            queue.insert((ticket, turn), at: queue.firstIndex { $0.ticket > ticket } ?? queue.count)
            waiters[deployment] = queue
        }
    }

    /// `turn` waits for nothing any more (it started an attempt, gave up or ended).
    public mutating func stopWaiting(_ turn: String) {
        guard tickets.removeValue(forKey: turn) != nil else { return }
        for (deployment, queue) in waiters where queue.contains(where: { $0.turn == turn }) { leave(deployment, turn) }
    }

    private mutating func leave(_ deployment: DeploymentRef, _ turn: String) {
        waiters[deployment]?.removeAll { $0.turn == turn }
        if waiters[deployment]?.isEmpty == true { waiters[deployment] = nil }
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
