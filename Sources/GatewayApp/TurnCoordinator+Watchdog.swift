import GatewayCore

/// The per-turn timer: the end of a backoff wait, and the watchdog for the first-token and idle
/// timeouts. The watchdog is lazy: tokens only move `lastTokenAt`; when the timer fires it either
/// times the attempt out or re-arms for the time left, so no timer is touched per token.
extension TurnCoordinator {
    /// First-token and idle watchdog, and the end of a backoff wait.
    func timerFired(_ run: TurnRun) {
        let now = clock()
        enum Action {
            case advance, none
            case timedOut(attempt: Int, TurnError, stream: (any ProviderStream)?, cutAtBudget: Bool)
        }
        let action: Action = run.guarded.withLock { guarded in
            switch guarded.timerPurpose {
            case .none: return .none
            case .backoff:
                guarded.timerPurpose = .none
                return .advance
            case .watchdog:
                guard let attempt = guarded.attempt else { return .none }
                let timeouts = timeouts(of: attempt.deployment)
                if run.relayedText.load(ordering: .acquiring) {
                    let silent = now - run.lastTokenAt.load(ordering: .relaxed)
                    guard silent >= timeouts.idleMillis else {
                        run.timer.arm(inMillis: timeouts.idleMillis - silent)
                        return .none
                    }
                    return .timedOut(attempt: attempt.id, .idleTimeout("no token for \(timeouts.idleMillis) ms"),
                                     stream: attempt.stream, cutAtBudget: false)
                }
                let waited = now - attempt.startedAt
                if waited >= timeouts.firstTokenMillis {
                    return .timedOut(attempt: attempt.id, .firstTokenTimeout("no token within \(timeouts.firstTokenMillis) ms"),
                                     stream: attempt.stream, cutAtBudget: false)
                }
                let fallback = guarded.plan.hasFallback(after: attempt.deployment)
                if fallback, now >= guarded.plan.budgetDeadline {
                    return .timedOut(attempt: attempt.id, .firstTokenTimeout("no token within the retry budget (\(llm.retry.budgetMillis) ms)"),
                                     stream: attempt.stream, cutAtBudget: true)
                }
                var wait = timeouts.firstTokenMillis - waited
                if fallback { wait = min(wait, max(1, guarded.plan.budgetDeadline - now)) }
                run.timer.arm(inMillis: wait)
                return .none
            }
        }
        switch action {
        case .advance: advance(run)
        case .none: break
        case .timedOut(let attempt, let error, let stream, let cutAtBudget):
            stream?.cancel()
            attemptFailed(run, attempt: attempt, error: error, cutAtBudget: cutAtBudget)
        }
    }

    func timeouts(of deployment: DeploymentRef) -> DeploymentTimeouts {
        deploymentConfig(deployment)?.timeouts ?? DeploymentTimeouts()
    }

}
