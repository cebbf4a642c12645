import Synchronization

/// The in-memory `SessionStore`: single node, nothing shared. A lock for the session table and
/// one per session, so appends to different sessions do not contend; the table lock is never held
/// while a session's lock is taken the other way round.
public final class MemorySessionStore: SessionStore {
    public struct Settings: Sendable {
        public var maxEvents: Int
        public var maxTranscriptEntries: Int
        public var idleTTLMillis: Int
        public var outboundCapBytes: Int
        public init(maxEvents: Int, maxTranscriptEntries: Int, idleTTLMillis: Int, outboundCapBytes: Int) {
            self.maxEvents = maxEvents
            self.maxTranscriptEntries = maxTranscriptEntries
            self.idleTTLMillis = idleTTLMillis
            self.outboundCapBytes = outboundCapBytes
        }
    }

    private final class Box: Sendable {
        let state: Mutex<SessionState>
        /// Set under `state`'s lock when expiry drops the session from the table. A caller that looked
        /// the box up just before must then look again: what it joined or appended would be lost.
        let retired = Atomic<Bool>(false)
        init(_ state: SessionState) { self.state = Mutex(state) }
    }

    private let settings: Settings
    private let clock: @Sendable () -> Int
    private let sessions = Mutex<[String: Box]>([:])
    /// Boxed: a closure kept directly in a Mutex is reabstracted on the way out of `withLock` and
    /// again on the write-back of its inout access, so every delivery wrapped the sink in two more
    /// thunks and the chain grew with every event (fan-out fell to ~1k frames/s within seconds).
    private let delivery = Mutex<DeliverySink?>(nil)

    private final class DeliverySink: Sendable {
        let deliver: @Sendable (Fanout) -> Void
        init(_ deliver: @escaping @Sendable (Fanout) -> Void) { self.deliver = deliver }
    }

    /// `clock` gives ms since the Unix epoch (injected so tests can move time).
    public init(settings: Settings, clock: @escaping @Sendable () -> Int = WallClock.millis) {
        self.settings = settings
        self.clock = clock
    }

    public var sessionCount: Int { sessions.withLock { $0.count } }

    public func setDelivery(_ delivery: @escaping @Sendable (Fanout) -> Void) {
        let sink = DeliverySink(delivery)
        self.delivery.withLock { $0 = sink }
    }

    public func join(session: String, connection: ConnectionID, afterSeq: Int?,
                     completion: @escaping @Sendable (Result<SessionState.JoinOutcome, SessionStoreError>) -> Void) {
        let now = clock()
        while true {
            let box = box(session, create: true)!
            let outcome = box.state.withLock { state -> SessionState.JoinOutcome? in
                box.retired.load(ordering: .relaxed) ? nil : state.join(connection, afterSeq: afterSeq, now: now)
            }
            if let outcome { return completion(.success(outcome)) }
        }
    }

    public func leave(session: String, connection: ConnectionID) -> Int? {
        let now = clock()
        return box(session, create: false)?.state.withLock { state in
            state.leave(connection, now: now) ? state.subscribers.count : nil
        } ?? nil
    }

    public func nextFrame(session: String, connection: ConnectionID) -> [UInt8]? {
        box(session, create: false)?.state.withLock { $0.nextFrame(for: connection) } ?? nil
    }

    public func nextFrameAndCaughtUp(session: String, connection: ConnectionID) -> (frame: [UInt8], caughtUp: Bool)? {
        box(session, create: false)?.state.withLock { $0.nextFrameAndCaughtUp(for: connection) } ?? nil
    }

    public func acceptMessage(session: String, id: String, author: String, text: String, turn: String, historyLimit: Int,
                              admit: @escaping @Sendable ([ChatMessage]) -> TurnAdmission?,
                              completion: @escaping @Sendable (Result<SessionState.MessageOutcome, SessionStoreError>) -> Void) {
        let now = clock()
        while true {
            let box = box(session, create: true)!
            let result = box.state.withLock { state -> (SessionState.MessageOutcome, Fanout)? in
                guard !box.retired.load(ordering: .relaxed) else { return nil }
                let outcome = state.acceptMessage(id: id, author: author, text: text, turn: turn,
                                                  historyLimit: historyLimit, now: now, admit: admit)
                guard case .accepted = outcome else { return (outcome, .none) }
                return (outcome, fanout(state))
            }
            if let (outcome, fanout) = result {
                deliver(fanout)
                return completion(.success(outcome))
            }
        }
    }

    public func appendDelta(session: String, turn: String, text: String) {
        let now = clock()
        deliver(box(session, create: false)?.state.withLock { state in
            state.appendDelta(turn: turn, text: text, now: now) ? fanout(state) : .none
        } ?? .none)
    }

    public func endTurn(session: String, turn: String, finish: TurnFinish, usage: TokenUsage, upstreamFinish: String?,
                        error: TurnError?, replyText: String) {
        let now = clock()
        deliver(box(session, create: false)?.state.withLock { state in
            let ended = state.endTurn(turn: turn, finish: finish, usage: usage, upstreamFinish: upstreamFinish, error: error, now: now)
            return ended ? fanout(state) : .none
        } ?? .none)
    }

    public func activeTurn(session: String, completion: @escaping @Sendable (SessionState.ActiveTurn?) -> Void) {
        completion(box(session, create: false)?.state.withLock { $0.activeTurn } ?? nil)
    }

    /// The text relayed so far in `turn` (this store's own view; tests use it).
    public func relayedText(session: String, turn: String) -> String {
        box(session, create: false)?.state.withLock { $0.relayedText(ofTurn: turn) } ?? ""
    }

    public func expireIdleSessions() -> Int {
        let now = clock()
        let ttl = settings.idleTTLMillis
        return sessions.withLock { table in
            let before = table.count
            table = table.filter { _, box in
                box.state.withLock { state in
                    guard state.isExpired(now: now, idleMillis: ttl) else { return true }
                    box.retired.store(true, ordering: .relaxed)
                    return false
                }
            }
            return before - table.count
        }
    }

    private func box(_ session: String, create: Bool) -> Box? {
        sessions.withLock { table in
            if let existing = table[session] { return existing }
            guard create else { return nil }
            let box = Box(SessionState(id: session, maxEvents: settings.maxEvents,
                                       maxTranscriptEntries: settings.maxTranscriptEntries, now: clock()))
            table[session] = box
            return box
        }
    }

    /// Called outside every session lock: the sink wakes connections on the lws thread's inbox.
    private func deliver(_ fanout: Fanout) {
        guard !fanout.isEmpty, let sink = delivery.withLock({ $0 }) else { return }
        sink.deliver(fanout)
    }

    private func fanout(_ state: SessionState) -> Fanout {
        state.fanout(outboundCapBytes: settings.outboundCapBytes)
    }
}
