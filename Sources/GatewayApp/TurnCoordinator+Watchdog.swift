import GatewayCore

/// The per-turn timer: the end of a backoff wait, and the watchdog for the first-token and idle
/// timeouts. The watchdog is lazy: tokens only move `lastTokenAt`; when the timer fires it either
/// times the attempt out or re-arms for the time left, so no timer is touched per token.
extension TurnCoordinator {
    /// First-token and idle watchdog, and the end of a backoff wait.
    func timerFired(_ run: TurnRun) {
        let now = clock()
        enum Action { case advance, none, timedOut(attempt: Int, TurnError, stream: (any ProviderStream)?) }
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
                    return .timedOut(attempt: attempt.id, .idleTimeout("no token for \(timeouts.idleMillis) ms"), stream: attempt.stream)
                }
                let waited = now - attempt.startedAt
                guard waited >= timeouts.firstTokenMillis else {
                    run.timer.arm(inMillis: timeouts.firstTokenMillis - waited)
                    return .none
                }
                return .timedOut(attempt: attempt.id, .firstTokenTimeout("no token within \(timeouts.firstTokenMillis) ms"),
                                 stream: attempt.stream)
            }
        }
        switch action {
        case .advance: advance(run)
        case .none: break
        case .timedOut(let attempt, let error, let stream):
            stream?.cancel()
            attemptFailed(run, attempt: attempt, error: error)
        }
    }

    func timeouts(of deployment: DeploymentRef) -> DeploymentTimeouts {
        deploymentConfig(deployment)?.timeouts ?? DeploymentTimeouts()
    }

}
