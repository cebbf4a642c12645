import GatewayCore
import Synchronization

/// Runs turns: admits them into the worker pool, streams each from a deployment of its model into
/// the session log, retries and falls back before the first token (`TurnAttempts`), watches the
/// first-token and idle timeouts, and makes sure every turn gets exactly one `turn.end` whatever
/// the provider, a stop or a shutdown does.
///
/// Threads: provider events arrive on their own threads (the curl thread, the demo queue), timers
/// on the turn-timer queue, stops on the lws service thread. Shared state is behind `state`'s lock
/// and each run's own lock (taken in that order, never the other way round); the session store has
/// its own locks and is never called with ours held.
final class TurnCoordinator: Sendable {
    struct State {
        var pool: WorkerPoolState<TurnJob>
        var runs: [String: TurnRun] = [:]
        var book: DeploymentBook
        var accepting = true
        /// Shared mode: stops that arrived for turns not (yet) running here, by turn, with when
        /// they came. A claim racing its stop finds it here and ends at once.
        var earlyStops: [String: Int] = [:]
    }

    enum SubmitOutcome: Equatable {
        case accepted(ackSeq: Int)
        case duplicate(ackSeq: Int)
        case busy
        case overloaded
        /// The tenant's daily budget is spent; nothing was appended.
        case budgetExceeded(retryAfterMillis: Int)
        /// The session store could not be reached; nothing was appended.
        case unavailable(SessionStoreError)
    }

    let store: any SessionStore
    let providers: [DeploymentRef: any ChatProvider]
    let llm: GatewayConfig.LLM
    let clock: @Sendable () -> Int
    let usage: UsageRecorder
    let router: ModelRouter
    /// Routing rules or tenant overrides exist, so `turn.start` says why a model was chosen.
    let routes: Bool
    let cache: (any ResponseCache)?
    /// The shared work queue (Redis mode); nil: turns queue in this node's pool.
    let queue: (any TurnQueue)?
    /// Where a turn's end settles its rate-limit reservation with its real usage; nil: no limits.
    let limits: AdmissionLimits?
    let state: Mutex<State>

    init(store: any SessionStore, providers: [DeploymentRef: any ChatProvider], llm: GatewayConfig.LLM,
         workers: GatewayConfig.Workers, usage: UsageRecorder, queue: (any TurnQueue)? = nil,
         limits: AdmissionLimits? = nil, clock: @escaping @Sendable () -> Int = WallClock.millis) {
        self.store = store
        self.queue = queue
        self.limits = limits
        self.usage = usage
        self.router = llm.routing.router(defaultModel: llm.defaultModel)
        self.routes = !llm.routing.rules.isEmpty || !llm.routing.tenantModels.isEmpty
        self.cache = llm.cache.enabled
            ? MemoryResponseCache(maxEntries: llm.cache.maxEntries, maxBytes: llm.cache.maxBytes,
                                  defaultTTLMillis: llm.cache.ttlSeconds * 1000, now: clock)
            : nil
        self.providers = providers
        self.llm = llm
        self.clock = clock
        var limits: [DeploymentRef: Int] = [:]
        for (name, model) in llm.models {
            for deployment in model.deployments {
                if let limit = deployment.maxConcurrency { limits[DeploymentRef(model: name, deployment: deployment.id)] = limit }
            }
        }
        // Shared mode: the queue is in Redis and claims never exceed the free slots, so the pool
        // here only counts what runs (its queue is for a claim racing a slot's release).
        self.state = Mutex(State(pool: WorkerPoolState(concurrency: workers.concurrency,
                                                       queueLimit: queue == nil ? workers.queueSize : workers.concurrency),
                                 book: DeploymentBook(limits: limits)))
    }

    var runningCount: Int { state.withLock { $0.pool.running } }

    /// What `admit` decided, for the completion (the store may call them on different threads).
    private final class AdmissionNotes: Sendable {
        struct Notes {
            var budgetWait: Int?
            var startNow: TurnRun?
            var cacheHit: (reply: CachedReply, job: TurnJob)?
        }
        let notes = Mutex(Notes())
    }

    /// `reservation` travels with the turn and is settled when it ends; refunding it when the
    /// outcome is not `accepted` is the caller's.
    func submit(session: String, messageID: String, text: String, author: String, tenant: String,
                reservation: AdmissionReservation? = nil, completion: @escaping @Sendable (SubmitOutcome) -> Void) {
        let turn = Identifiers.turn()
        let notes = AdmissionNotes()
        // Asked only for a message that would be appended: a resent id still gets its original ack.
        store.acceptMessage(
            session: session, id: messageID, author: author, text: text, turn: turn,
            historyLimit: llm.historyMessages,
            admit: { [self] history in
                if let wait = usage.budgetRefusal(for: tenant, now: clock()) {
                    notes.notes.withLock { $0.budgetWait = wait }
                    return nil
                }
                var messages = [ChatMessage(role: .system, content: llm.systemPrompt)]
                messages += history
                messages.append(ChatMessage(role: .user, content: text))
                let decision = router.route(RoutingInput(message: text, earlierMessages: history.count, tenant: tenant))
                let route = routes ? decision.reason : nil
                let key = cache == nil ? nil : cacheKey(model: decision.model, messages: messages)
                let job = TurnJob(session: session, turn: turn, model: decision.model,
                                  request: ChatRequest(session: session, turn: turn, messages: messages),
                                  user: author, tenant: tenant, queuedAt: clock(), cacheKey: key, reservation: reservation)
                if let key, let reply = cache?.lookup(key) {
                    notes.notes.withLock { $0.cacheHit = (reply, job) }
                    return TurnAdmission(model: decision.model, route: route, cached: true)
                }
                if queue != nil {
                    // Nothing is committed here: the store queues the job with the append, or not at all.
                    guard state.withLock({ $0.accepting }) else { return nil }
                    return TurnAdmission(model: decision.model, route: route, queuedJob: Self.queued(job).encode())
                }
                let admitted: Bool = state.withLock { state in
                    guard state.accepting else { return false }
                    switch state.pool.submit(job) {
                    case .startNow(let job):
                        let run = register(job, in: &state)
                        notes.notes.withLock { $0.startNow = run }
                        return true
                    case .queued: return true
                    case .rejected: return false
                    }
                }
                return admitted ? TurnAdmission(model: decision.model, route: route) : nil
            },
            completion: { [self] result in
                let decided = notes.notes.withLock { $0 }
                switch result {
                case .success(.accepted(let ackSeq)):
                    if let hit = decided.cacheHit {
                        serveFromCache(hit.reply, job: hit.job)
                    } else if let run = decided.startNow {
                        advance(run)
                    }
                    completion(.accepted(ackSeq: ackSeq))
                case .success(.duplicate(let ackSeq)): completion(.duplicate(ackSeq: ackSeq))
                case .success(.busy): completion(.busy)
                case .success(.overloaded): completion(decided.budgetWait.map { .budgetExceeded(retryAfterMillis: $0) } ?? .overloaded)
                case .failure(let error): completion(.unavailable(error))
                }
            })
    }

    /// Ends the session's active turn as `cancelled`, aborting its upstream transfer at once; a no-op
    /// when the session has none.
    func stop(session: String) {
        if queue != nil { return stopShared(session: session) }
        store.activeTurn(session: session) { [self] active in
            guard let active else { return }
            cancel(turn: active.turn, session: session, finish: .cancelled, error: nil)
        }
    }

    /// Refuses new turns and cancels every queued and running one (shutdown).
    func cancelAll(reason: TurnError) {
        let (running, queued): ([TurnRun], [TurnJob]) = state.withLock { state in
            state.accepting = false
            var queued: [TurnJob] = []
            while let job = state.pool.removeQueued(where: { _ in true }) { queued.append(job) }
            return (Array(state.runs.values), queued)
        }
        for job in queued { endQueued(job, finish: .error, error: reason) }
        for run in running { cancel(turn: run.job.turn, session: run.job.session, finish: .error, error: reason) }
    }

    // MARK: - Attempts

    /// A worker slot was just given to `job`: its run goes into the table in the same critical
    /// section, so from then on a stop or shutdown finds it there (before, one that came between the
    /// pool handing out the slot and the run's first attempt found the turn nowhere, ended it in the
    /// log, and the run then called the upstream for a turn that had already ended).
    func register(_ job: TurnJob, in state: inout State) -> TurnRun {
        let now = clock()
        let plan = TurnAttempts(groups: deploymentGroups(for: job.model), policy: llm.retry, startedAt: now)
        let run = TurnRun(job: job, plan: plan, now: now) { [weak self] run in self?.timerFired(run) }
        state.runs[job.turn] = run
        return run
    }

    /// The model's deployments, then each fallback's (each model once, in order).
    private func deploymentGroups(for model: String) -> [[DeploymentRef]] {
        var order: [String] = []
        var pending = [model]
        while !pending.isEmpty {
            let name = pending.removeFirst()
            guard !order.contains(name), let config = llm.models[name] else { continue }
            order.append(name)
            pending += config.fallbacks
        }
        return order.map { name in llm.models[name]!.deployments.map { DeploymentRef(model: name, deployment: $0.id) } }
    }

    /// Asks the plan what to do next and does it: start an attempt, wait, or give up.
    func advance(_ run: TurnRun) {
        let now = clock()
        enum Step { case start(DeploymentRef, Int), waited, giveUp(TurnError), gone }
        let step: Step = state.withLock { state in
            guard state.runs[run.job.turn] === run else { return .gone }
            return run.guarded.withLock { guarded in
                guard !guarded.cancelled else { return .gone }
                let turn = run.job.turn
                var full: Set<DeploymentRef> = []
                let decision = guarded.plan.next(now: now) { deployment in
                    let availability = state.book.availability(of: deployment, for: turn, now: now)
                    if availability == .atCapacity { full.insert(deployment) }
                    return availability
                }
                switch decision {
                case .start(let deployment, let attempt):
                    state.book.stopWaiting(turn)
                    _ = state.book.acquire(deployment, now: now)
                    guarded.attempt = TurnRun.Attempt(id: attempt, deployment: deployment, startedAt: now, stream: nil)
                    guarded.usage = nil
                    guarded.lastDeployment = deployment
                    run.currentAttempt.store(attempt, ordering: .releasing)
                    return .start(deployment, attempt)
                case .wait(let millis):
                    state.book.waitForCapacity(turn, on: full)
                    guarded.timerPurpose = .backoff
                    run.timer.arm(inMillis: millis)
                    return .waited
                case .giveUp(let error):
                    state.book.stopWaiting(turn)
                    return .giveUp(error)
                }
            }
        }
        switch step {
        case .start(let deployment, let attempt): startAttempt(run, on: deployment, attempt: attempt)
        case .giveUp(let error): end(run, finish: .error, upstreamFinish: nil, error: error)
        case .waited, .gone: break
        }
    }

    private func startAttempt(_ run: TurnRun, on deployment: DeploymentRef, attempt: Int) {
        guard let provider = providers[deployment] else {
            attemptFailed(run, attempt: attempt,
                          error: TurnError(code: "internal", message: "deployment '\(deployment)' is not configured"))
            return
        }
        var request = run.job.request
        if let config = deploymentConfig(deployment), let window = config.contextWindow, let reserve = config.outputReserve {
            do {
                let trimmed = try ContextTrimmer(contextWindow: window, outputReserve: reserve).trim(request.messages)
                request.messages = trimmed.messages
                if trimmed.droppedMessages > 0 || trimmed.newestMessageCut {
                    Log.info("turn \(run.job.turn): context trimmed for \(deployment) (\(trimmed.droppedMessages) message(s), "
                             + "\(trimmed.droppedTokens) tokens dropped\(trimmed.newestMessageCut ? ", newest message cut" : ""))")
                }
            } catch {
                attemptFailed(run, attempt: attempt, error: TurnError(code: "context_too_large", message: "\(error)"))
                return
            }
        }
        let timeouts = timeouts(of: deployment)
        run.guarded.withLock { guarded in
            guarded.sentMessages = request.messages
            guarded.timerPurpose = .watchdog
            var wait = run.relayedText.load(ordering: .acquiring) ? timeouts.idleMillis : timeouts.firstTokenMillis
            if !run.relayedText.load(ordering: .acquiring), guarded.plan.hasFallback(after: deployment) {
                wait = min(wait, max(1, guarded.plan.budgetDeadline - clock()))  // see TurnAttempts.cutAtBudget
            }
            run.timer.arm(inMillis: wait)
        }
        let stream = provider.startStream(request) { [weak self, weak run] event in
            guard let self, let run else { return }
            self.handle(event, of: run, attempt: attempt)
        }
        let stillCurrent: Bool = run.guarded.withLock { guarded in
            guard !guarded.cancelled, guarded.attempt?.id == attempt else { return false }
            guarded.attempt?.stream = stream
            return true
        }
        if !stillCurrent { stream.cancel() }
    }

    private func handle(_ event: ProviderEvent, of run: TurnRun, attempt: Int) {
        guard run.currentAttempt.load(ordering: .acquiring) == attempt else { return }
        switch event {
        case .text(let text):
            let now = clock()
            if !run.relayedText.load(ordering: .acquiring) {
                // The first token is checked and marked under the run's lock, where a failure or a
                // timeout of the same attempt decides on a retry: the turn either retries (and this
                // token is dropped) or relays, never both.
                let first: Bool = run.guarded.withLock { guarded in
                    guard !guarded.cancelled, let current = guarded.attempt, current.id == attempt else { return false }
                    run.firstTokenAt.store(now, ordering: .relaxed)
                    run.lastTokenAt.store(now, ordering: .relaxed)
                    run.relayedText.store(true, ordering: .releasing)
                    // From now on the watchdog keeps the idle timeout; later tokens only move lastTokenAt.
                    run.timer.arm(inMillis: timeouts(of: current.deployment).idleMillis)
                    return true
                }
                guard first || run.relayedText.load(ordering: .acquiring) else { return }
            }
            run.lastTokenAt.store(now, ordering: .relaxed)
            run.relayed.withLock { $0 += text }
            store.appendDelta(session: run.job.session, turn: run.job.turn, text: text)
        case .usage(let usage):
            run.guarded.withLock { if $0.attempt?.id == attempt { $0.usage = usage } }
        case .finished(let upstreamReason):
            end(run, finish: TurnFinish(upstreamReason: upstreamReason), upstreamFinish: upstreamReason, error: nil,
                onlyIfAttempt: attempt)
        case .failed(let error):
            attemptFailed(run, attempt: attempt, error: error)
        }
    }

    /// The attempt ended in `error`. Before the first token another attempt may follow; after it,
    /// the turn ends with the error and the partial text stays in the log.
    /// `cutAtBudget`: the attempt waited for its first token until the retry budget ended, and a
    /// fallback remains (see `TurnAttempts.cutAtBudget`).
    func attemptFailed(_ run: TurnRun, attempt: Int, error: TurnError, cutAtBudget: Bool = false) {
        let now = clock()
        let retry: Bool = state.withLock { state in
            run.guarded.withLock { guarded in
                guard !guarded.cancelled, let current = guarded.attempt, current.id == attempt else { return false }
                if error.code == "upstream_http", error.message.contains("HTTP 429") {
                    let pause: Int
                    if case .allowed(let after?) = error.retry { pause = after } else { pause = llm.retry.cooldownMillis }
                    state.book.coolDown(current.deployment, untilMillis: now + pause)
                }
                guard !run.relayedText.load(ordering: .acquiring) else { return false }
                state.book.release(current.deployment)
                guarded.attempt = nil
                if cutAtBudget {
                    guarded.plan.cutAtBudget(current.deployment, error: error)
                } else {
                    guarded.plan.failed(current.deployment, error: error, now: now, jitter: Double.random(in: 0..<1))
                }
                return true
            }
        }
        if retry {
            Log.info("turn \(run.job.turn): attempt \(attempt) failed (\(error.code)): \(error.message)")
            advance(run)
        } else {
            end(run, finish: .error, upstreamFinish: nil, error: error, onlyIfAttempt: attempt)
        }
    }
}
