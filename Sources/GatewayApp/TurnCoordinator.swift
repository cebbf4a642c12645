import GatewayCore
import Synchronization

/// Runs turns: admits them into the worker pool, streams each from its provider into the session
/// log, and makes sure every turn gets exactly one `turn.end` whatever the provider, a stop or a
/// shutdown does. Provider callbacks arrive on their own threads (the curl thread, the demo timer
/// queue); all shared state is behind `state`'s lock, and the session store has its own locks.
final class TurnCoordinator: Sendable {
    private struct Run {
        let job: TurnJob
        var stream: (any ProviderStream)?
        var usage: TokenUsage?
        var cancelled = false
    }

    private struct State {
        var pool: WorkerPoolState<TurnJob>
        var runs: [String: Run] = [:]
        var accepting = true
    }

    enum SubmitOutcome: Equatable {
        case accepted(ackSeq: Int)
        case duplicate(ackSeq: Int)
        case busy
        case overloaded
    }

    private let store: any SessionStore
    private let providers: [String: any ChatProvider]
    private let llm: GatewayConfig.LLM
    private let deliver: @Sendable (Fanout) -> Void
    private let state: Mutex<State>

    init(store: any SessionStore, providers: [String: any ChatProvider], llm: GatewayConfig.LLM,
         workers: GatewayConfig.Workers, deliver: @escaping @Sendable (Fanout) -> Void) {
        self.store = store
        self.providers = providers
        self.llm = llm
        self.deliver = deliver
        self.state = Mutex(State(pool: WorkerPoolState(concurrency: workers.concurrency, queueLimit: workers.queueSize)))
    }

    var runningCount: Int { state.withLock { $0.pool.running } }

    func submit(session: String, messageID: String, text: String, author: String) -> SubmitOutcome {
        let modelName = llm.defaultModel
        guard let provider = providers[modelName] else { return .overloaded }
        let turn = Identifiers.turn()
        var startNow: TurnJob?
        let (outcome, fanout) = store.acceptMessage(
            session: session, id: messageID, author: author, text: text, turn: turn, model: provider.displayName,
            historyLimit: llm.historyMessages
        ) { history in
            var messages = [ChatMessage(role: .system, content: llm.systemPrompt)]
            messages += history
            messages.append(ChatMessage(role: .user, content: text))
            let job = TurnJob(session: session, turn: turn, modelName: modelName,
                              request: ChatRequest(session: session, turn: turn, messages: messages))
            return state.withLock { state in
                guard state.accepting else { return false }
                switch state.pool.submit(job) {
                case .startNow(let job):
                    state.runs[turn] = Run(job: job)
                    startNow = job
                    return true
                case .queued: return true
                case .rejected: return false
                }
            }
        }
        deliver(fanout)
        switch outcome {
        case .accepted(let ackSeq):
            if let job = startNow { start(job) }
            return .accepted(ackSeq: ackSeq)
        case .duplicate(let ackSeq): return .duplicate(ackSeq: ackSeq)
        case .busy: return .busy
        case .overloaded: return .overloaded
        }
    }

    /// Ends the session's active turn as `cancelled`, aborting its upstream transfer at once; a no-op
    /// when the session has none.
    func stop(session: String) {
        guard let active = store.activeTurn(session: session) else { return }
        cancel(turn: active.turn, session: session, finish: .cancelled, error: nil)
    }

    /// Refuses new turns and cancels every queued and running one (shutdown).
    func cancelAll(reason: TurnError) {
        let (running, queued): ([TurnJob], [TurnJob]) = state.withLock { state in
            state.accepting = false
            var queued: [TurnJob] = []
            while let job = state.pool.removeQueued(where: { _ in true }) { queued.append(job) }
            return (state.runs.values.map(\.job), queued)
        }
        for job in queued { end(job: job, finish: .error, usage: nil, upstreamFinish: nil, error: reason, wasRunning: false) }
        for job in running { cancel(turn: job.turn, session: job.session, finish: .error, error: reason) }
    }

    private func cancel(turn: String, session: String, finish: TurnFinish, error: TurnError?) {
        enum Found { case queued(TurnJob), running(Run), none }
        let found: Found = state.withLock { state in
            if let job = state.pool.removeQueued(where: { $0.turn == turn }) { return .queued(job) }
            if var run = state.runs[turn] {
                run.cancelled = true
                state.runs[turn] = run
                return .running(run)
            }
            return .none
        }
        switch found {
        case .queued(let job):
            end(job: job, finish: finish, usage: nil, upstreamFinish: nil, error: error, wasRunning: false)
        case .running(let run):
            run.stream?.cancel()
            end(job: run.job, finish: finish, usage: run.usage, upstreamFinish: nil, error: error, wasRunning: true)
        case .none:
            // Accepted but its job is not visible yet (cannot happen with the memory store); end the log's turn.
            let usage = estimatedUsage(input: [], session: session, turn: turn)
            let (_, fanout) = store.endTurn(session: session, turn: turn, finish: finish, usage: usage, upstreamFinish: nil, error: error)
            deliver(fanout)
        }
    }

    private func start(_ job: TurnJob) {
        guard let provider = providers[job.modelName] else {
            end(job: job, finish: .error, usage: nil, upstreamFinish: nil,
                error: TurnError(code: "internal", message: "model '\(job.modelName)' is not configured"), wasRunning: true)
            return
        }
        let stream = provider.startStream(job.request) { [weak self] event in
            self?.handle(event, of: job)
        }
        let cancelledMeanwhile: Bool = state.withLock { state in
            guard var run = state.runs[job.turn] else { return true }
            run.stream = stream
            state.runs[job.turn] = run
            return run.cancelled
        }
        if cancelledMeanwhile { stream.cancel() }
    }

    private func handle(_ event: ProviderEvent, of job: TurnJob) {
        switch event {
        case .text(let text):
            deliver(store.appendDelta(session: job.session, turn: job.turn, text: text))
        case .usage(let usage):
            state.withLock { $0.runs[job.turn]?.usage = usage }
        case .finished(let upstreamReason):
            let usage = state.withLock { $0.runs[job.turn]?.usage }
            end(job: job, finish: upstreamReason == "length" ? .length : .stop, usage: usage,
                upstreamFinish: upstreamReason, error: nil, wasRunning: true)
        case .failed(let error):
            let usage = state.withLock { $0.runs[job.turn]?.usage }
            end(job: job, finish: .error, usage: usage, upstreamFinish: nil, error: error, wasRunning: true)
        }
    }

    /// The single place a turn ends. Whoever removes the run from the table appends `turn.end` and
    /// frees the worker slot; a late provider event or a racing stop finds nothing and does nothing.
    private func end(job: TurnJob, finish: TurnFinish, usage: TokenUsage?, upstreamFinish: String?,
                     error: TurnError?, wasRunning: Bool) {
        var next: TurnJob?
        if wasRunning {
            let owned: Bool = state.withLock { state in
                guard state.runs.removeValue(forKey: job.turn) != nil else { return false }
                next = state.pool.finished()
                if let next { state.runs[next.turn] = Run(job: next) }
                return true
            }
            guard owned else { return }
        }
        let finalUsage = usage ?? estimatedUsage(input: job.request.messages, session: job.session, turn: job.turn)
        let (_, fanout) = store.endTurn(session: job.session, turn: job.turn, finish: finish, usage: finalUsage,
                                        upstreamFinish: upstreamFinish, error: error)
        deliver(fanout)
        if let next { start(next) }
    }

    private func estimatedUsage(input: [ChatMessage], session: String, turn: String) -> TokenUsage {
        TokenUsage(inputTokens: TokenEstimator.inputTokens(of: input),
                   outputTokens: TokenEstimator.tokens(in: store.relayedText(session: session, turn: turn)),
                   estimated: true)
    }
}
