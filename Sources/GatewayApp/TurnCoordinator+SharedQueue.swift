import GatewayCore

/// The coordinator in Redis mode: turns admitted on any node come from the shared queue
/// (`TurnQueue`), stops are relayed to the node that runs the turn, and turns whose worker was
/// lost are ended here with `worker_lost`.
extension TurnCoordinator {
    /// A claimed turn older than this with a stop on record is treated as stopped.
    static let earlyStopMemoryMillis = 60_000

    static func queued(_ job: TurnJob) -> QueuedTurn {
        QueuedTurn(session: job.session, turn: job.turn, model: job.model, messages: job.request.messages,
                   user: job.user, tenant: job.tenant, queuedAt: job.queuedAt, reservedTokens: job.reservation?.tokens ?? 0)
    }

    /// Starts claiming from the shared queue; a no-op without one.
    func startClaiming() {
        queue?.start(TurnQueueHandlers(
            freeSlots: { [weak self] in
                guard let self else { return 0 }
                return state.withLock { $0.accepting ? max(0, $0.pool.concurrency - $0.pool.running) : 0 }
            },
            claimed: { [weak self] job, retry in self?.claimed(job, retry: retry) },
            stopRequested: { [weak self] turn in self?.stopRequested(turn: turn) },
            leaseLost: { [weak self] turn in self?.drop(turn: turn) },
            lost: { [weak self] session, turn in self?.workerLost(session: session, turn: turn) }))
    }

    private func claimed(_ bytes: [UInt8], retry: Bool) {
        let queued: QueuedTurn
        do { queued = try QueuedTurn.decode(bytes) } catch {
            Log.error("dropping a queued turn that does not decode: \(error)")
            return
        }
        let key = cache == nil ? nil : cacheKey(model: queued.model, messages: queued.messages)
        let job = TurnJob(session: queued.session, turn: queued.turn, model: queued.model,
                          request: ChatRequest(session: queued.session, turn: queued.turn, messages: queued.messages),
                          user: queued.user, tenant: queued.tenant, queuedAt: queued.queuedAt, cacheKey: key,
                          reservation: AdmissionReservation(user: queued.user, tenant: queued.tenant, messages: 0,
                                                            tokens: queued.reservedTokens))
        if retry { Log.info("turn \(job.turn): retried here after its first worker was lost") }
        enum Start { case run(TurnRun), stopped, waiting, refused, runningHere }
        let start: Start = state.withLock { state in
            let now = clock()
            state.earlyStops = state.earlyStops.filter { now - $0.value < Self.earlyStopMemoryMillis }
            guard state.accepting else { return .refused }
            // The reaper re-queued the turn while this node, cut from Redis, still ran it, and this
            // node claimed it back before hearing its lease was gone: the run here goes on (a second
            // run would stream the reply twice, and the first would no longer be in the table to end).
            if state.runs[job.turn] != nil { return .runningHere }
            if state.earlyStops.removeValue(forKey: job.turn) != nil { return .stopped }
            switch state.pool.submit(job) {
            case .startNow(let job): return .run(register(job, in: &state))
            case .queued: return .waiting
            case .rejected: return .refused
            }
        }
        switch start {
        case .run(let run): advance(run)
        case .stopped:
            endUnrun(session: job.session, turn: job.turn, finish: .cancelled, error: nil)
            limits?.settle(job.reservation, usage: nil)
            queue?.released(turn: job.turn)
        case .waiting, .runningHere: break
        case .refused:
            // Shutting down: the lease runs out and the reaper gives the turn to another worker
            // (nothing streamed) — the queue's retry, which is what a worker that vanished gets too.
            Log.info("turn \(job.turn): claimed while shutting down; left to its lease")
        }
    }

    private func stopRequested(turn: String) {
        enum Found { case running(session: String), queued(TurnJob), notHere }
        let found: Found = state.withLock { state in
            if let run = state.runs[turn] { return .running(session: run.job.session) }
            if let job = state.pool.removeQueued(where: { $0.turn == turn }) { return .queued(job) }
            // Not here (yet): a claim racing this stop finds it. Pruned here too, so a node that
            // stopped claiming does not keep them.
            let now = clock()
            state.earlyStops = state.earlyStops.filter { now - $0.value < Self.earlyStopMemoryMillis }
            state.earlyStops[turn] = now
            return .notHere
        }
        switch found {
        case .running(let session):
            cancel(turn: turn, session: session, finish: .cancelled, error: nil)
        case .queued(let job):
            endQueued(job, finish: .cancelled, error: nil)
            queue?.released(turn: turn)
        case .notHere:
            break
        }
    }

    /// A stop from a client on this node: cancel here if the turn runs here, else through the queue.
    func stopShared(session: String) {
        let local: String? = state.withLock { state in state.runs.values.first { $0.job.session == session }?.job.turn }
        if let local { return cancel(turn: local, session: session, finish: .cancelled, error: nil) }
        queue?.stop(session: session) { [self] outcome in
            switch outcome {
            case .unclaimed(let turn):
                endUnrun(session: session, turn: turn, finish: .cancelled, error: nil)
            case .failed(let reason):
                Log.warning("stop for session \(session) could not reach Redis: \(reason)")
            case .relayed, .noActiveTurn:
                break
            }
        }
    }

    private func workerLost(session: String, turn: String) {
        Log.warning("turn \(turn): its worker was lost after it streamed; ending it with worker_lost")
        endUnrun(session: session, turn: turn, finish: .error,
                 error: TurnError(code: "worker_lost", message: "the worker running this turn stopped answering"))
    }

    /// Ends a turn no worker on this node ran (stopped before its claim, lost with its worker): no
    /// usage to report, and no reply text here, so the store keeps what Redis saw relayed.
    private func endUnrun(session: String, turn: String, finish: TurnFinish, error: TurnError?) {
        store.endTurn(session: session, turn: turn, finish: finish, usage: TokenUsage(inputTokens: 0, outputTokens: 0, estimated: true),
                      upstreamFinish: nil, error: error, replyText: "")
    }
}
