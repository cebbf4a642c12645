import GatewayCore

/// One session as this node mirrors it from Redis: the local `SessionState` its subscribers read,
/// fed only by the session's pub/sub channel, and the steps that keep it whole. Pure: it is told
/// what happened (a join, a subscription confirmed, a frame published, a read's reply) and answers
/// with `Effects` for `RedisSessionStore` to carry out outside the lock that guards it.
///
/// Why the order subscribe → confirmed → read → buffered events: once Redis confirmed the
/// subscription every later append is published to us, and the read (one atomic script) holds
/// every earlier one, so the read plus the events buffered meanwhile with seq > the read's last
/// are the log without a hole or a repeat, however fast another node appends.
struct SessionMirror {
    enum Phase: Equatable {
        /// SUBSCRIBE sent, not confirmed: nothing is read yet, and frames seen now are covered by the read.
        case subscribing
        /// Confirmed; the first read (the log's tail and the transcript) is out. Frames are buffered.
        case loading
        case live
        /// A frame came with a seq past the next one, or a join asked beyond what is here: a read of
        /// what follows the last seq held is out. Frames are buffered.
        case filling
        /// That read failed (Redis unreachable): frames are buffered until the next attempt, which the
        /// next frame or the pub/sub link's return starts.
        case stalled
    }

    /// A read for the store to run, tagged so a late reply to an older one is ignored.
    enum Read: Equatable {
        /// The seed of the mirror: the log's tail, transcript, active turn and reply so far.
        case tail(generation: Int)
        /// What follows `seq`, or a fresh seed when Redis no longer holds all of it.
        case after(seq: Int, generation: Int)
    }

    /// A read's reply, decoded (`SessionReadReply`).
    enum ReadResult: Sendable {
        /// Every event after the seq asked for, up to `lastSeq` (fewer when a frame would not decode).
        case events([SessionEvent], lastSeq: Int)
        case seed(SessionState.ReplicaSeed)
        case failed(SessionStoreError)
    }

    struct PendingJoin: Sendable {
        let connection: ConnectionID
        let afterSeq: Int?
        let completion: @Sendable (Result<SessionState.JoinOutcome, SessionStoreError>) -> Void
    }

    struct Effects {
        var completions: [(join: PendingJoin, result: Result<SessionState.JoinOutcome, SessionStoreError>)] = []
        var read: Read?
        var fanout = Fanout.none
        /// The mirror gave up (its first read failed, or the subscription never came): drop it.
        var retire = false
    }

    let session: String
    let maxEvents: Int
    let maxTranscriptEntries: Int
    let outboundCapBytes: Int
    private(set) var phase = Phase.subscribing
    private(set) var state: SessionState?
    /// Set by the store when it drops the mirror from its table; a caller holding it looks again.
    var retired = false
    private var generation = 0
    private var buffer: [SessionEvent] = []
    private var waiting: [PendingJoin] = []

    init(session: String, maxEvents: Int, maxTranscriptEntries: Int, outboundCapBytes: Int) {
        self.session = session
        self.maxEvents = maxEvents
        self.maxTranscriptEntries = maxTranscriptEntries
        self.outboundCapBytes = outboundCapBytes
    }

    /// For failure messages of tests: where the mirror is.
    var summary: String {
        "\(phase), last seq \(state.map { String($0.log.lastSeq) } ?? "-"), \(buffer.count) held, \(waiting.count) waiting, "
            + "\(state?.subscribers.count ?? 0) subscribed, read \(generation)"
    }

    /// Nobody subscribed here and nobody waiting to be: the mirror can go.
    var isUnused: Bool { (state?.subscribers.isEmpty ?? true) && waiting.isEmpty }

    /// Places the cursor at once when the mirror can answer: it holds the session and is not behind
    /// what the client asks to resume after (a client may have seen, through another node, events
    /// still on their way here: then it waits for a read rather than get a needless snapshot).
    mutating func join(_ join: PendingJoin, now: Int) -> Effects {
        var effects = Effects()
        guard var current = state else {
            waiting.append(join)
            return effects
        }
        if let afterSeq = join.afterSeq, afterSeq > current.log.lastSeq {
            waiting.append(join)
            if phase == .live || phase == .stalled { effects.read = startRead(after: current.log.lastSeq) }
            return effects
        }
        let outcome = current.join(join.connection, afterSeq: join.afterSeq, now: now)
        state = current
        effects.completions.append((join, .success(outcome)))
        return effects
    }

    mutating func leave(_ connection: ConnectionID, now: Int) -> Int? {
        guard state?.leave(connection, now: now) == true else { return nil }
        return state?.subscribers.count
    }

    mutating func nextFrame(for connection: ConnectionID) -> [UInt8]? {
        state?.nextFrame(for: connection)
    }

    mutating func nextFrameAndCaughtUp(for connection: ConnectionID) -> (frame: [UInt8], caughtUp: Bool)? {
        state?.nextFrameAndCaughtUp(for: connection)
    }

    mutating func subscribed() -> Effects {
        guard phase == .subscribing else { return Effects() }
        phase = .loading
        generation += 1
        return Effects(read: .tail(generation: generation))
    }

    /// The subscription was not confirmed in time.
    mutating func subscribeTimedOut() -> Effects {
        guard phase == .subscribing else { return Effects() }
        return giveUp(.unavailable("Redis did not confirm the session's subscription in time"))
    }

    mutating func received(_ event: SessionEvent, now: Int) -> Effects {
        switch phase {
        case .subscribing:
            return Effects()
        case .loading, .filling:
            hold(event)
            return Effects()
        case .stalled:
            hold(event)
            return Effects(read: startRead(after: state!.log.lastSeq))
        case .live:
            var effects = Effects()
            switch state!.applyReplicated(event, now: now) {
            case .applied: effects.fanout = state!.fanout(outboundCapBytes: outboundCapBytes)
            case .duplicate: break
            case .gap:
                hold(event)
                effects.read = startRead(after: state!.log.lastSeq)
            }
            return effects
        }
    }

    /// Pub/sub lost whatever was published while its link was down: read what may be missing.
    mutating func resubscribed() -> Effects {
        switch phase {
        case .subscribing: return Effects()
        case .loading:
            generation += 1
            return Effects(read: .tail(generation: generation))
        case .live, .filling, .stalled:
            return Effects(read: startRead(after: state!.log.lastSeq))
        }
    }

    mutating func readArrived(_ result: ReadResult, for read: Read, now: Int) -> Effects {
        let tag: Int
        switch read { case .tail(let g), .after(_, let g): tag = g }
        guard tag == generation, phase == .loading || phase == .filling else { return Effects() }
        var effects = Effects()
        switch result {
        case .failed(let error):
            guard phase == .filling else { return giveUp(error) }
            phase = .stalled
            effects.completions = waiting.map { ($0, .failure(error)) }
            waiting = []
            return effects
        case .seed(let seed):
            if var current = state {
                current.reseed(seed, now: now)
                state = current
            } else {
                state = SessionState(replicaOf: seed, id: session, maxEvents: maxEvents,
                                     maxTranscriptEntries: maxTranscriptEntries, now: now)
            }
        case .events(let events, let lastSeq):
            guard state != nil, case .after = read else {
                return giveUp(.unavailable("Redis answered the session's first read without its transcript"))
            }
            for event in events { _ = state!.applyReplicated(event, now: now) }
            if state!.log.lastSeq < lastSeq {
                // A frame Redis holds would not decode: a seed leaves it out (as trimmed) and goes on.
                generation += 1
                effects.read = .tail(generation: generation)
                return effects
            }
        }
        phase = .live
        effects.read = drainBuffer(now: now)
        effects.fanout = state!.fanout(outboundCapBytes: outboundCapBytes)
        if effects.read == nil { effects.completions = placeWaiting(now: now) }
        return effects
    }

    private mutating func startRead(after seq: Int) -> Read {
        phase = .filling
        generation += 1
        return .after(seq: seq, generation: generation)
    }

    /// Pub/sub can outrun a read by any amount while Redis is slow; past `maxEvents` the oldest held
    /// frames are dropped, since a read that ends before them comes back as a gap and is read again.
    private mutating func hold(_ event: SessionEvent) {
        buffer.append(event)
        if buffer.count > maxEvents { buffer.removeFirst(buffer.count - maxEvents) }
    }

    private mutating func drainBuffer(now: Int) -> Read? {
        var index = 0
        defer { buffer.removeFirst(index) }
        while index < buffer.count {
            if case .gap = state!.applyReplicated(buffer[index], now: now) {
                return startRead(after: state!.log.lastSeq)
            }
            index += 1
        }
        return nil
    }

    private mutating func placeWaiting(now: Int) -> [(join: PendingJoin, result: Result<SessionState.JoinOutcome, SessionStoreError>)] {
        let joins = waiting
        waiting = []
        return joins.map { join in
            (join, .success(state!.join(join.connection, afterSeq: join.afterSeq, now: now)))
        }
    }

    /// Fails every join still waiting (the store is shutting down).
    mutating func abandon(_ error: SessionStoreError) -> Effects { giveUp(error) }

    private mutating func giveUp(_ error: SessionStoreError) -> Effects {
        var effects = Effects(retire: true)
        effects.completions = waiting.map { ($0, .failure(error)) }
        waiting = []
        return effects
    }
}
