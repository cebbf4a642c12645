/// Everything one session holds on this node: its log, transcript, subscribers' cursors, remembered
/// message ids and the active turn. A plain value: the store guards it with the session's lock, and
/// the methods here return what happened so the caller can wake subscribers outside the lock.
public struct SessionState: Sendable {
    public struct ActiveTurn: Sendable, Equatable {
        public var turn: String
        public var messageID: String
        public var model: String

        public init(turn: String, messageID: String, model: String) {
            self.turn = turn
            self.messageID = messageID
            self.model = model
        }
    }

    public enum JoinOutcome: Sendable, Equatable {
        case joined(seq: Int, recovered: Bool)
    }

    public enum MessageOutcome: Sendable, Equatable {
        /// The id was seen before: not appended again; the original ack stands.
        case duplicate(ackSeq: Int)
        case busy
        /// The worker pool refused the turn: nothing was appended.
        case overloaded
        /// Appended the message and the turn's start.
        case accepted(ackSeq: Int)
    }

    /// How long a message id is remembered after the log stops holding it (safe-retry window).
    public static let messageIDRetentionMillis = 10 * 60 * 1000

    public let id: String
    public private(set) var log: EventLog
    public private(set) var transcript: Transcript
    public private(set) var subscribers: [ConnectionID: SubscriberCursor] = [:]
    public private(set) var activeTurn: ActiveTurn?
    public private(set) var lastActivity: Int
    private var messageIDs: [String: (seq: Int, acceptedAt: Int)] = [:]
    /// The last merged delta frame a subscriber took: the next subscriber at the same place sends
    /// the same bytes instead of merging and encoding them again (fan-out behind a backlog).
    private var lastMerged: SubscriberCursor.MergedFrame?

    public init(id: String, maxEvents: Int, maxTranscriptEntries: Int = 1000, now: Int) {
        self.id = id
        self.log = EventLog(session: id, capacity: maxEvents)
        self.transcript = Transcript(maxEntries: maxTranscriptEntries)
        self.lastActivity = now
    }

    public var subscriberIDs: Dictionary<ConnectionID, SubscriberCursor>.Keys { subscribers.keys }

    /// Positions `connection` per the join rules (docs/protocol.md): resume exactly after `afterSeq`
    /// when the log still holds everything after it; the whole log when none is given and nothing
    /// was trimmed; otherwise a snapshot.
    public mutating func join(_ connection: ConnectionID, afterSeq: Int?, now: Int) -> JoinOutcome {
        lastActivity = now
        if let afterSeq, let offset = log.offset(after: afterSeq) {
            subscribers[connection] = SubscriberCursor(seq: afterSeq, offset: offset)
            return .joined(seq: log.lastSeq, recovered: true)
        }
        if afterSeq == nil, log.isUntrimmed {
            subscribers[connection] = SubscriberCursor(seq: 0, offset: 0)
            return .joined(seq: log.lastSeq, recovered: false)
        }
        let snapshot = ServerFrame.snapshot(Snapshot(session: id, seq: log.lastSeq, entries: transcript.entries)).encode()
        subscribers[connection] = SubscriberCursor(seq: log.lastSeq, offset: log.totalBytes, pendingSnapshot: snapshot)
        return .joined(seq: log.lastSeq, recovered: false)
    }

    /// Returns whether `connection` was subscribed.
    @discardableResult
    public mutating func leave(_ connection: ConnectionID, now: Int) -> Bool {
        lastActivity = now
        return subscribers.removeValue(forKey: connection) != nil
    }

    public func isSubscribed(_ connection: ConnectionID) -> Bool { subscribers[connection] != nil }

    /// The next frame for `connection`, advancing its cursor; nil when it is up to date.
    public mutating func nextFrame(for connection: ConnectionID) -> [UInt8]? {
        nextFrameAndCaughtUp(for: connection)?.frame
    }

    /// The next frame for `connection` and whether its cursor is at the end of the log after it
    /// (nothing more to take until the next append). The cursor is advanced in place: one hash
    /// lookup per frame, where copying it out and back took two.
    public mutating func nextFrameAndCaughtUp(for connection: ConnectionID) -> (frame: [UInt8], caughtUp: Bool)? {
        guard let index = subscribers.index(forKey: connection),
              let frame = subscribers.values[index].next(in: log, transcript: transcript, lastMerged: &lastMerged) else { return nil }
        let cursor = subscribers.values[index]
        return (frame, cursor.seq == log.lastSeq && cursor.pendingSnapshot == nil)
    }

    public func lagBytes(of connection: ConnectionID) -> Int {
        subscribers[connection]?.lagBytes(in: log) ?? 0
    }

    /// Whom to wake after an append, and who fell behind by more than `outboundCapBytes` beyond the
    /// event they would take next (slow consumers, closed 4008).
    public func fanout(outboundCapBytes: Int) -> Fanout {
        var result = Fanout()
        result.wake.reserveCapacity(subscribers.count)
        for (connection, cursor) in subscribers {
            if cursor.backlogBeyondNextEvent(in: log) > outboundCapBytes {
                result.slowConsumers.append(connection)
            } else {
                result.wake.append(connection)
            }
        }
        return result
    }

    /// `admit` is asked, with the history, only once the message would be appended: it queues the
    /// turn with the workers and says how it starts, or refuses it with nil (then nothing is
    /// appended and the id stays unused).
    public mutating func acceptMessage(id messageID: String, author: String, text: String,
                                       turn: String, historyLimit: Int, now: Int,
                                       admit: ([ChatMessage]) -> TurnAdmission?) -> MessageOutcome {
        if let known = messageIDs[messageID] { return .duplicate(ackSeq: known.seq) }
        if activeTurn != nil { return .busy }
        let history = transcript.history(limit: historyLimit)
        guard let admission = admit(history) else { return .overloaded }
        let message = append(.message(id: messageID, author: author, text: text), now: now)
        messageIDs[messageID] = (message.seq, now)
        append(.turnStart(turn: turn, model: admission.model, route: admission.route, cached: admission.cached), now: now)
        activeTurn = ActiveTurn(turn: turn, messageID: messageID, model: admission.model)
        forgetOldMessageIDs(now: now)
        return .accepted(ackSeq: message.seq)
    }

    /// Appends model text to the active turn; false (nothing appended) if `turn` is not active.
    @discardableResult
    public mutating func appendDelta(turn: String, text: String, now: Int) -> Bool {
        guard activeTurn?.turn == turn, !text.isEmpty else { return false }
        append(.turnDelta(turn: turn, text: text), now: now)
        return true
    }

    /// Ends the active turn with its one `turn.end`; false if `turn` is not active (already ended).
    @discardableResult
    public mutating func endTurn(turn: String, finish: TurnFinish, usage: TokenUsage, upstreamFinish: String?,
                                 error: TurnError?, now: Int) -> Bool {
        guard activeTurn?.turn == turn else { return false }
        append(.turnEnd(turn: turn, finish: finish, usage: usage, upstreamFinish: upstreamFinish, error: error), now: now)
        activeTurn = nil
        return true
    }

    /// The text relayed so far in `turn` (for usage estimates of stopped turns).
    public func relayedText(ofTurn turn: String) -> String {
        transcript.entries.last { $0.turn == turn }?.text ?? ""
    }

    public func isExpired(now: Int, idleMillis: Int) -> Bool {
        subscribers.isEmpty && activeTurn == nil && now - lastActivity >= idleMillis
    }

    @discardableResult
    private mutating func append(_ body: SessionEventBody, now: Int) -> SessionEvent {
        lastActivity = now
        transcript.apply(body)
        return log.append(timestamp: now, body: body)
    }

    /// Ids stay while the log holds their message, and at least `messageIDRetentionMillis`. Pruned
    /// only when the table outgrows the log, so the scan is amortised over many messages.
    private mutating func forgetOldMessageIDs(now: Int) {
        guard messageIDs.count > log.capacity else { return }
        let firstRetained = log.firstRetainedSeq
        messageIDs = messageIDs.filter { _, entry in
            entry.seq >= firstRetained || now - entry.acceptedAt < Self.messageIDRetentionMillis
        }
    }
}

// MARK: - Mirroring a shared log

extension SessionState {
    /// What a node reads from a shared log to mirror a session: the log's tail, the transcript and
    /// the active turn, all as of one atomic read.
    public struct ReplicaSeed: Sendable, Equatable {
        public var lastSeq: Int
        /// The retained tail of the log, oldest first, ending at `lastSeq`.
        public var events: [SessionEvent]
        /// With the active turn's reply so far as its last, streaming, entry.
        public var transcript: [Transcript.Entry]
        public var activeTurn: ActiveTurn?

        /// Keeps only the run of `events` that ends at `lastSeq` without a hole (a mirror's log cannot
        /// have one); what is left out counts as trimmed.
        public init(session: String, lastSeq: Int, events: [SessionEvent], transcript: [Transcript.Entry], activeTurn: ActiveTurn?) {
            self.lastSeq = max(0, lastSeq)
            var run: [SessionEvent] = []
            for event in events.reversed() {
                guard event.session == session, event.seq == self.lastSeq - run.count else { break }
                run.append(event)
            }
            self.events = run.reversed()
            self.transcript = transcript
            self.activeTurn = activeTurn
        }
    }

    public enum ReplicaApply: Sendable, Equatable {
        case applied
        /// Already held (seq at or before the last): a replay overlapping live delivery.
        case duplicate
        /// Events between the last held and this one were missed; nothing was applied.
        case gap(missingFrom: Int)
    }

    /// A mirror built from `seed`; its events are taken as they are (the seed's transcript already
    /// includes them).
    public init(replicaOf seed: ReplicaSeed, id: String, maxEvents: Int, maxTranscriptEntries: Int, now: Int) {
        self.init(id: id, maxEvents: maxEvents, maxTranscriptEntries: maxTranscriptEntries, now: now)
        log = EventLog(session: id, capacity: maxEvents, startingAfter: seed.lastSeq - seed.events.count)
        for event in seed.events { log.append(event) }
        transcript = Transcript(maxEntries: maxTranscriptEntries, entries: seed.transcript)
        activeTurn = seed.activeTurn
    }

    /// Applies an event another node appended, with its seq and bytes, if it is the next one.
    public mutating func applyReplicated(_ event: SessionEvent, now: Int) -> ReplicaApply {
        guard event.session == id, event.seq > log.lastSeq else { return .duplicate }
        guard event.seq == log.lastSeq + 1 else { return .gap(missingFrom: log.lastSeq + 1) }
        switch event.body {
        case .turnStart(let turn, let model, _, _):
            var messageID = ""
            if case .message(let id, _, _)? = log.event(seq: event.seq - 1)?.body { messageID = id }
            activeTurn = ActiveTurn(turn: turn, messageID: messageID, model: model)
        case .turnEnd(let turn, _, _, _, _) where activeTurn?.turn == turn:
            activeTurn = nil
        default:
            break
        }
        lastActivity = now
        transcript.apply(event.body)
        log.append(event)
        return .applied
    }

    /// Replaces the mirror with a fresh read when the events it missed are gone from the shared log.
    /// Subscribers keep their place where the new log still holds what follows it; the others get a
    /// snapshot, exactly as a subscriber whose position was trimmed away would.
    public mutating func reseed(_ seed: ReplicaSeed, now: Int) {
        let cursors = subscribers
        self = SessionState(replicaOf: seed, id: id, maxEvents: log.capacity, maxTranscriptEntries: transcript.maxEntries, now: now)
        var snapshot: [UInt8]?
        for (connection, cursor) in cursors {
            if let offset = log.offset(after: cursor.seq) {
                subscribers[connection] = SubscriberCursor(seq: cursor.seq, offset: offset, pendingSnapshot: cursor.pendingSnapshot)
            } else {
                if snapshot == nil {
                    snapshot = ServerFrame.snapshot(Snapshot(session: id, seq: log.lastSeq, entries: transcript.entries)).encode()
                }
                subscribers[connection] = SubscriberCursor(seq: log.lastSeq, offset: log.totalBytes, pendingSnapshot: snapshot)
            }
        }
    }
}

/// How an admitted turn starts: the model it was routed to, why, and whether the reply comes from
/// the response cache. Goes into the turn's `turn.start`.
public struct TurnAdmission: Sendable, Equatable {
    public var model: String
    public var route: String?
    public var cached: Bool
    /// The turn's job, encoded, when turns go through a shared work queue: a store with one
    /// enqueues it in the same atomic step as the append (no turn is ever started but not queued).
    public var queuedJob: [UInt8]?

    public init(model: String, route: String? = nil, cached: Bool = false, queuedJob: [UInt8]? = nil) {
        self.model = model
        self.route = route
        self.cached = cached
        self.queuedJob = queuedJob
    }
}
