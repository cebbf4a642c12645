/// Where one turn's next attempt goes, before its first token: retries on the same deployment with
/// backoff (or the upstream's Retry-After), other deployments of the same model, then the model's
/// fallbacks in order, all inside the retry budget. A value type that answers with decisions; the
/// turn runner carries them out (starts the stream, arms the timer) and reports failures back.
///
/// Rules:
/// - A retryable failure is tried again on the same deployment up to `attemptsPerDeployment`
///   times, after backoff or Retry-After (capped by `maxRetryAfterMillis`; longer waits are not
///   waited for). Meanwhile an available sibling deployment of the same model is used at once.
/// - A non-retryable failure (a 4xx such as a bad key) rules that deployment out for this turn; the
///   next deployment or fallback is tried, since it may be configured differently.
/// - Deployments that are cooling down or at capacity are passed over for an available one in a
///   later group (rate limits fall back); if none is available anywhere, the turn waits for the
///   earliest one, still inside the budget.
/// - An attempt still waiting for its first token when the budget ends is cut there if a fallback
///   model remains (`cutAtBudget`), and that fallback gets one last attempt: a stalled primary must
///   not hold the turn past the budget when another model could answer.
/// - When the budget is spent or no deployment is left, the turn gives up with the last error.
public struct TurnAttempts: Sendable {
    public enum Decision: Sendable, Equatable {
        /// Start try number `attempt` (1-based, over the whole turn) on `deployment`.
        case start(DeploymentRef, attempt: Int)
        /// Nothing can start now; ask again after this long.
        case wait(millis: Int)
        case giveUp(TurnError)
    }

    /// How often to look again when every remaining deployment is merely at capacity.
    public static let capacityPollMillis = 25

    private let groups: [[DeploymentRef]]
    private let policy: RetryPolicy
    private let deadline: Int
    private var currentGroup = 0
    private var tries: [DeploymentRef: Int] = [:]
    private var ruledOut: Set<DeploymentRef> = []
    /// Deployments whose retry is due at the given time (ms since epoch).
    private var pendingRetries: [DeploymentRef: Int] = [:]
    public private(set) var lastError: TurnError?
    /// A retry or wait was given up because it would have ended past the budget.
    private var cutByBudget = false
    /// One attempt may still start past the budget: the fallback after an attempt cut at it.
    private var lastChance = false
    public private(set) var attempts = 0

    /// `groups`: the chosen model's deployments, then each fallback model's, in order.
    public init(groups: [[DeploymentRef]], policy: RetryPolicy, startedAt: Int) {
        self.groups = groups.filter { !$0.isEmpty }
        self.policy = policy
        self.deadline = startedAt + policy.budgetMillis
    }

    /// When the budget ends (ms since epoch).
    public var budgetDeadline: Int { deadline }

    /// A later model (a fallback) could still be tried after `deployment`'s.
    public func hasFallback(after deployment: DeploymentRef) -> Bool {
        guard let group = groups.firstIndex(where: { $0.contains(deployment) }) else { return false }
        return groups[(group + 1)...].contains { !$0.allSatisfy(isSpent) }
    }

    /// The attempt on `deployment` was still waiting for its first token when the budget ended: its
    /// model is done for this turn, and the next model gets one last attempt.
    public mutating func cutAtBudget(_ deployment: DeploymentRef, error: TurnError) {
        lastError = error
        guard let group = groups.firstIndex(where: { $0.contains(deployment) }) else { return }
        for index in 0...group { for candidate in groups[index] { ruledOut.insert(candidate); pendingRetries[candidate] = nil } }
        lastChance = true
    }

    /// The attempt on `deployment` failed before any text was relayed. `jitter` is in 0..<1.
    public mutating func failed(_ deployment: DeploymentRef, error: TurnError, now: Int, jitter: Double) {
        lastError = error
        let count = tries[deployment, default: 0]
        guard case .allowed(let retryAfter) = error.retry, count < policy.attemptsPerDeployment else {
            ruledOut.insert(deployment)
            return
        }
        if let retryAfter, retryAfter > policy.maxRetryAfterMillis {
            ruledOut.insert(deployment)  // the caller cools it down; not worth waiting for here
            return
        }
        let pause = retryAfter ?? policy.backoffMillis(afterTries: count, jitter: jitter)
        pendingRetries[deployment] = now + pause
    }

    /// What to do now. `availability` reads the node's deployment book.
    ///
    /// Within the current model: a due retry, else an available deployment not waiting for a retry,
    /// else (while retries are pending) the earliest of them. Only when the current model has no
    /// retry pending is a later model (a fallback) used for a deployment that is merely busy or
    /// cooling down; failing that, the turn waits for whatever frees up first.
    public mutating func next(now: Int, availability: (DeploymentRef) -> DeploymentAvailability) -> Decision {
        if lastChance {
            lastChance = false
            while currentGroup < groups.count, groups[currentGroup].allSatisfy(isSpent) { currentGroup += 1 }
            if currentGroup < groups.count, let deployment = firstAvailable(in: groups[currentGroup], availability) {
                return start(deployment)
            }
            return .giveUp(budgetSpent())
        }
        guard now < deadline else { return .giveUp(budgetSpent()) }
        for (deployment, due) in pendingRetries where due >= deadline {
            pendingRetries[deployment] = nil  // not worth waiting for: it would come after the budget
            ruledOut.insert(deployment)
            cutByBudget = true
        }
        while currentGroup < groups.count, groups[currentGroup].allSatisfy(isSpent) { currentGroup += 1 }
        guard currentGroup < groups.count else { return .giveUp(cutByBudget ? budgetSpent() : lastError ?? Self.noDeployment) }

        let group = groups[currentGroup]
        for deployment in group {
            guard let due = pendingRetries[deployment], due <= now else { continue }
            pendingRetries[deployment] = nil
            if availability(deployment) == .available { return start(deployment) }
        }
        if let deployment = firstAvailable(in: group, availability) { return start(deployment) }
        if let due = group.compactMap({ pendingRetries[$0] }).min() { return .wait(millis: max(1, due - now)) }

        var earliestWake: Int?
        for index in currentGroup..<groups.count {
            if index > currentGroup, let deployment = firstAvailable(in: groups[index], availability) {
                return start(deployment)
            }
            for deployment in groups[index] where !isSpent(deployment) {
                let wake: Int
                if let due = pendingRetries[deployment] {
                    wake = due
                } else {
                    switch availability(deployment) {
                    case .available: wake = now
                    case .atCapacity: wake = now + Self.capacityPollMillis
                    case .coolingDown(let until): wake = until
                    }
                }
                earliestWake = min(earliestWake ?? wake, wake)
            }
        }
        guard let wake = earliestWake else { return .giveUp(cutByBudget ? budgetSpent() : lastError ?? Self.noDeployment) }
        guard wake < deadline else { return .giveUp(budgetSpent()) }
        return .wait(millis: max(1, wake - now))
    }

    /// Out of this turn: ruled out, or tried as often as allowed with no retry pending.
    private func isSpent(_ deployment: DeploymentRef) -> Bool {
        ruledOut.contains(deployment)
            || (tries[deployment, default: 0] >= policy.attemptsPerDeployment && pendingRetries[deployment] == nil)
    }

    /// The first deployment of `group` that can start now and is not waiting for its retry.
    private func firstAvailable(in group: [DeploymentRef], _ availability: (DeploymentRef) -> DeploymentAvailability) -> DeploymentRef? {
        group.first { pendingRetries[$0] == nil && !isSpent($0) && availability($0) == .available }
    }

    private mutating func start(_ deployment: DeploymentRef) -> Decision {
        attempts += 1
        tries[deployment, default: 0] += 1
        return .start(deployment, attempt: attempts)
    }

    private func budgetSpent() -> TurnError {
        guard let lastError else { return Self.noDeployment }
        return TurnError(code: lastError.code, message: lastError.message + " (retry budget spent after \(attempts) attempt(s))")
    }

    static let noDeployment = TurnError(code: "upstream_unavailable",
                                        message: "no deployment of the model or its fallbacks could take the request")
}
