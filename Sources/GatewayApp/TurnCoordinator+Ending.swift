import GatewayCore

/// How turns end: one `turn.end` per turn whoever ends it (the provider, a stop, a timeout, a
/// shutdown, a lost lease), its worker and deployment slots freed, the next queued turn started,
/// usage recorded and settled.
extension TurnCoordinator {
    func cancel(turn: String, session: String, finish: TurnFinish, error: TurnError?) {
        enum Found { case queued(TurnJob), running(TurnRun), none }
        let found: Found = state.withLock { state in
            if let job = state.pool.removeQueued(where: { $0.turn == turn }) { return .queued(job) }
            if let run = state.runs[turn] { return .running(run) }
            return .none
        }
        switch found {
        case .queued(let job):
            endQueued(job, finish: finish, error: error)
        case .running(let run):
            end(run, finish: finish, upstreamFinish: nil, error: error)
        case .none:
            // Neither queued nor running: runs are in the table from admission until after their
            // turn.end, so the turn has ended already (the store drops an end of an ended turn).
            break
        }
    }

    /// Stops running `turn` here without ending it in the log: the shared queue says this node's lease
    /// on it was taken over (see `TurnQueueHandlers.leaseLost`), so its retry or whoever ends it
    /// with `worker_lost` appends the one turn.end and settles its reservation.
    func drop(turn: String) {
        let run: TurnRun? = state.withLock { $0.runs[turn] }
        guard let run else { return }
        Log.warning("turn \(turn): this node's lease on it was taken over while Redis could not be reached; dropping it here")
        end(run, finish: .cancelled, upstreamFinish: nil, error: nil, inLog: false)
    }

    /// The single place a running turn ends. Whoever first marks the run `cancelled` (under the
    /// locks) appends `turn.end`, frees the deployment and worker slots and starts the next queued
    /// turn; a late provider event, timer or racing stop finds it ending and does nothing.
    /// `onlyIfAttempt` makes a provider's own ending count only for the attempt that is current.
    /// `inLog` false: the turn is no longer this node's (`drop`): no turn.end, no settlement.
    ///
    /// The run leaves the table only once its `turn.end` is in the log: while it is being ended, a
    /// stop still finds it (and does nothing) instead of finding the turn nowhere and ending the
    /// log's turn itself, as `cancelled` with made-up usage, ahead of the real end.
    func end(_ run: TurnRun, finish: TurnFinish, upstreamFinish: String?, error: TurnError?, onlyIfAttempt: Int? = nil,
                     inLog: Bool = true) {
        typealias Closing = (stream: (any ProviderStream)?, usage: TokenUsage?, deployment: DeploymentRef?, attempts: Int,
                             workerStartedAt: Int, sent: [ChatMessage]?)
        let ended: Closing? = state.withLock { state in
            guard state.runs[run.job.turn] === run else { return nil }
            return run.guarded.withLock { guarded in
                guard !guarded.cancelled else { return nil }  // another caller is ending it
                if let onlyIfAttempt, guarded.attempt?.id != onlyIfAttempt { return nil }
                guarded.cancelled = true
                guarded.timerPurpose = .none
                state.book.stopWaiting(run.job.turn)
                if let deployment = guarded.attempt?.deployment { state.book.release(deployment) }
                defer { guarded.attempt = nil }
                return (guarded.attempt?.stream, guarded.usage, guarded.lastDeployment, guarded.plan.attempts,
                        guarded.workerStartedAt, guarded.sentMessages)
            }
        }
        guard let ended else { return }
        run.currentAttempt.store(-1, ordering: .releasing)
        run.timer.cancel()
        ended.stream?.cancel()
        let reply = run.relayed.withLock { $0 }
        let usage = ended.usage ?? estimatedUsage(input: ended.sent ?? run.job.request.messages, reply: reply)
        if inLog {
            store.endTurn(session: run.job.session, turn: run.job.turn, finish: finish, usage: usage,
                          upstreamFinish: upstreamFinish, error: error, replyText: reply)
        }
        let next: TurnRun? = state.withLock { state in
            state.runs.removeValue(forKey: run.job.turn)
            return state.pool.finished().map { register($0, in: &state) }
        }
        recordUsage(of: run, usage: usage, finish: finish, error: error, deployment: ended.deployment,
                    attempts: ended.attempts, workerStartedAt: ended.workerStartedAt)
        if inLog { limits?.settle(run.job.reservation, usage: usage) }
        // Only the routed model's own answer: a fallback's reply is not what the key (that model) asks for.
        if finish == .stop, error == nil, ended.deployment?.model == run.job.model {
            storeInCache(run, reply: reply, usage: usage, upstreamFinish: upstreamFinish)
        }
        if let next { advance(next) }
        if let queue {
            queue.released(turn: run.job.turn)
            queue.capacityChanged()
        }
    }

    func endQueued(_ job: TurnJob, finish: TurnFinish, error: TurnError?) {
        let usage = TokenUsage(inputTokens: 0, outputTokens: 0, estimated: true)
        store.endTurn(session: job.session, turn: job.turn, finish: finish, usage: usage,
                      upstreamFinish: nil, error: error, replyText: "")
        var record = usageRecord(job, usage: usage, finish: finish, error: error)
        record.queueWaitMillis = record.totalMillis
        self.usage.record(record)
        limits?.settle(job.reservation, usage: nil)
    }

    private func estimatedUsage(input: [ChatMessage], reply: String) -> TokenUsage {
        TokenUsage(inputTokens: TokenEstimator.inputTokens(of: input), outputTokens: TokenEstimator.tokens(in: reply),
                   estimated: true)
    }
}
