import GatewayCore
import GatewayWSClient
import Synchronization

/// The chat.v1 side of a load run: every connection says hello, joins its session, and then
/// counts, checks and times what the session sends. Plugged into a `WebSocketClientPool` as
/// its handler.
///
/// `@unchecked Sendable`: `records` and `tally` are touched only on the pool's service thread
/// while it runs, and read by the owner only after `WebSocketClientPool.stop()` has joined that
/// thread (`finalTally`). `progress` (atomics) and `stopping` are safe from any thread.
final class ChatLoadClient: WebSocketClientHandler, @unchecked Sendable {
    let plan: ChatLoadPlan
    /// Tokens each turn should have, when the run configured the model (nil: trust `usage`).
    let expectedTokensPerTurn: Int?
    let progress = ChatLoadProgress()

    private var records: [SubscriberRecord]
    private var tally = ChatLoadTally()

    init(plan: ChatLoadPlan, expectedTokensPerTurn: Int?) {
        self.plan = plan
        self.expectedTokensPerTurn = expectedTokensPerTurn
        records = Array(repeating: SubscriberRecord(), count: plan.localCount)
        tally.planned = plan.localCount
    }

    /// Marks when connecting began. Before the pool starts (no service thread yet).
    func noteConnectStart() { tally.firstConnectMilliseconds = WallClock.milliseconds() }

    /// The `message` frames that start every turn this process sends, one per session it leads.
    func turnFrames() -> [(connection: Int, frame: [UInt8])] {
        (0..<plan.localCount).filter(plan.isSender).map { local in
            var json = JSONWriter(capacity: 128)
            json.beginObject()
            json.field("type", "message")
            json.field("session", plan.session(ofLocal: local))
            json.field("id", "bench-\(plan.globalIndex(ofLocal: local))")
            json.field("text", "benchmark turn \(plan.globalIndex(ofLocal: local))")
            json.endObject()
            return (local, json.bytes)
        }
    }

    // MARK: - Service thread

    func path(for connection: Int) -> String? {
        plan.flavor == .nchanSubscriber ? "/sub/\(plan.session(ofLocal: connection))" : nil
    }

    func clientOpened(_ connection: Int, outbox: inout ClientOutbox) {
        tally.opened += 1
        switch plan.flavor {
        case .chatV1:
            records[connection].phase = .awaitingWelcome
            outbox.send(Array(#"{"type":"hello","client":"chat-bench"}"#.utf8))
        case .nchanSubscriber:
            joined(connection, seq: 0)
        }
    }

    private func joined(_ connection: Int, seq: Int) {
        records[connection].phase = .joined
        records[connection].joinedSeq = seq
        records[connection].lastSeq = seq
        tally.joined += 1
        tally.lastJoinedMilliseconds = WallClock.milliseconds()
        progress.joined.add(1, ordering: .relaxed)
    }

    func clientReceived(_ connection: Int, text: UnsafeRawBufferPointer, outbox: inout ClientOutbox) {
        guard let fields = ChatFrameScanner.scan(text) else {
            tally.errors["unparsable_frame", default: 0] += 1
            return
        }
        if fields.isSessionEvent {
            sessionEvent(fields, on: connection, frame: text)
            return
        }
        switch fields.kind {
        case .welcome:
            records[connection].phase = .awaitingJoined
            var json = JSONWriter(capacity: 64)
            json.beginObject()
            json.field("type", "join")
            json.field("session", plan.session(ofLocal: connection))
            json.endObject()
            outbox.send(json.bytes)
        case .joined:
            joined(connection, seq: fields.seq ?? 0)
        case .ack:
            tally.acks += 1
        case .error:
            tally.errors[fields.errorCode ?? "unknown", default: 0] += 1
        case .snapshot:
            // Only a subscriber that fell off the retained log gets one: the run is too big for it.
            tally.errors["snapshot", default: 0] += 1
            records[connection].lastSeq = fields.seq ?? records[connection].lastSeq
        default:
            break
        }
    }

    private func sessionEvent(_ fields: ChatFrameFields, on connection: Int, frame: UnsafeRawBufferPointer) {
        guard let seq = fields.seq, seq > records[connection].joinedSeq else { return }  // replay
        let now = WallClock.microseconds()
        if let timestamp = fields.timestamp { tally.latency.record(now - timestamp * 1000) }
        if fields.kind == .turnDelta, let text = fields.text {
            ChatFrameScanner.stamps(in: frame, text) { tally.tokenLatency.record(now - $0) }
        }
        tally.lastEventMilliseconds = now / 1000

        var record = records[connection]
        let first = fields.fromSeq ?? seq
        if first > record.lastSeq + 1 {
            record.gaps += 1
        } else if first <= record.lastSeq {
            record.duplicates += 1
        }
        record.lastSeq = max(record.lastSeq, seq)
        record.frames += 1
        switch fields.kind {
        case .turnDelta:
            record.tokens += seq - first + 1
            if fields.fromSeq != nil { record.mergedFrames += 1 }
        case .turnEnd:
            record.turnEnds += 1
            record.reportedTokens += fields.outputTokens ?? 0
            if record.turnEnds == 1 { progress.settled.add(1, ordering: .relaxed) }
        default:
            break
        }
        records[connection] = record
    }

    func clientClosed(_ connection: Int, reason: ClientCloseReason) {
        let phase = records[connection].phase
        records[connection].phase = .closed
        if case .connectFailed(let why) = reason {
            tally.failed += 1
            tally.firstFailure = tally.firstFailure ?? why
        }
        guard phase == .joined else {
            progress.unjoinedFinished.add(1, ordering: .relaxed)
            return
        }
        if !progress.stopping.load(ordering: .relaxed) {
            records[connection].closedEarly = true
            if case .closedByServer(let code) = reason { tally.errors["closed_\(code)", default: 0] += 1 }
            if records[connection].turnEnds == 0 { progress.settled.add(1, ordering: .relaxed) }
        }
    }

    // MARK: - After the pool has stopped

    /// The tally, with the per-connection checks folded in. Only after `WebSocketClientPool.stop()`.
    func finalTally() -> ChatLoadTally {
        var result = tally
        for record in records {
            result.frames += record.frames
            result.tokens += record.tokens
            result.mergedFrames += record.mergedFrames
            result.turnEnds += record.turnEnds
            result.reportedTokens += record.reportedTokens
            result.gaps += record.gaps
            result.duplicates += record.duplicates
            if record.closedEarly { result.closedEarly += 1 }
            let expected = expectedTokensPerTurn.map { $0 * record.turnEnds } ?? record.reportedTokens
            if record.turnEnds > 0 && record.gaps == 0 && record.duplicates == 0
                && record.tokens == record.reportedTokens && record.tokens == expected {
                result.completeSubscribers += 1
            }
        }
        return result
    }
}

/// Counters the coordinating thread polls while the service thread runs the connections.
final class ChatLoadProgress: Sendable {
    let joined = Atomic<Int>(0)
    /// Connections that finished (failed or closed) before they joined.
    let unjoinedFinished = Atomic<Int>(0)
    /// Joined connections that saw a `turn.end`, or closed before one.
    let settled = Atomic<Int>(0)
    /// Set before the owner stops the pool: closes from then on are expected.
    let stopping = Atomic<Bool>(false)
}
