/// A subscriber's position in a session's log. Live delivery and resume are the same operation,
/// "send what is after my cursor", so a subscriber holds no copy of the frames it has yet to send.
public struct SubscriberCursor: Sendable, Equatable {
    /// Last seq delivered (or covered by a snapshot).
    public var seq: Int
    /// `EventLog` byte offset just after `seq`.
    public var offset: Int
    /// A snapshot to send before anything after `seq`.
    public var pendingSnapshot: [UInt8]?

    public init(seq: Int, offset: Int, pendingSnapshot: [UInt8]? = nil) {
        self.seq = seq
        self.offset = offset
        self.pendingSnapshot = pendingSnapshot
    }

    /// Encoded bytes appended after the cursor that it has not taken yet. A pending snapshot is not
    /// counted: it is sent once, its size is bounded by the transcript's cap, and counting it would
    /// close (4008) a client whose snapshot alone passes the outbound cap every time it rejoins.
    public func lagBytes(in log: EventLog) -> Int {
        log.totalBytes - offset
    }

    /// What the slow-consumer cap is checked against: the lag less the event the reader is about to
    /// take. One event is never too much (an allowed message bigger than the cap must not close
    /// every reader of its session); a backlog beyond it that passes the cap is.
    public func backlogBeyondNextEvent(in log: EventLog) -> Int {
        let lag = lagBytes(in: log)
        guard seq < log.lastSeq, log.canResume(after: seq) else { return lag }
        return lag - (log.entry(seq: seq + 1).endOffset - offset)
    }

    /// A merged `turn.delta` frame and the seqs it covers. Events never change once appended, so
    /// the frame for a range is the same for every reader: the subscribers of a session woken by
    /// the same appends take the same range, and only the first of them encodes it.
    public struct MergedFrame: Sendable, Equatable {
        public let fromSeq: Int
        public let toSeq: Int
        public let frame: [UInt8]
    }

    /// Takes the next frame to send, advancing the cursor. Consecutive deltas of one turn that are
    /// all waiting are merged into one frame (`from_seq` is the first seq it covers), so a reader
    /// that fell behind catches up in fewer, larger frames. A cursor that fell off the retained log
    /// gets a snapshot of the transcript and continues after it.
    public mutating func next(in log: EventLog, transcript: Transcript) -> [UInt8]? {
        var unshared: MergedFrame?
        return next(in: log, transcript: transcript, lastMerged: &unshared)
    }

    /// As `next(in:transcript:)`, reusing `lastMerged` when this merge covers the same seqs, and
    /// leaving there the merged frame this call made (the log's owner keeps it for the next reader).
    public mutating func next(in log: EventLog, transcript: Transcript, lastMerged: inout MergedFrame?) -> [UInt8]? {
        if let snapshot = pendingSnapshot {
            pendingSnapshot = nil
            return snapshot
        }
        guard seq < log.lastSeq else { return nil }
        guard log.canResume(after: seq) else {
            seq = log.lastSeq
            offset = log.totalBytes
            return ServerFrame.snapshot(Snapshot(session: log.session, seq: seq, entries: transcript.entries)).encode()
        }
        let first = log.entry(seq: seq + 1)
        guard case .turnDelta(let turn, let firstText) = first.event.body,
              seq + 2 <= log.lastSeq,
              case .turnDelta(let nextTurn, _) = log.entry(seq: seq + 2).event.body, nextTurn == turn else {
            seq += 1
            offset = first.endOffset
            return first.event.encoded
        }
        // Seqs a previous merge from the same first seq covered are deltas of this turn already.
        var lastSeqCovered = seq + 2
        if let known = lastMerged, known.fromSeq == seq + 1, known.toSeq > lastSeqCovered { lastSeqCovered = known.toSeq }
        while lastSeqCovered < log.lastSeq {
            guard case .turnDelta(let candidateTurn, _) = log.entry(seq: lastSeqCovered + 1).event.body,
                  candidateTurn == turn else { break }
            lastSeqCovered += 1
        }
        let last = log.entry(seq: lastSeqCovered)
        defer {
            seq = lastSeqCovered
            offset = last.endOffset
        }
        if let known = lastMerged, known.fromSeq == seq + 1, known.toSeq == lastSeqCovered { return known.frame }
        var text = firstText
        for covered in (seq + 2)...lastSeqCovered {
            if case .turnDelta(_, let candidateText) = log.entry(seq: covered).event.body { text += candidateText }
        }
        let frame = SessionEvent.encode(session: first.event.session, seq: lastSeqCovered, fromSeq: seq + 1,
                                        timestamp: last.event.timestamp, body: .turnDelta(turn: turn, text: text))
        lastMerged = MergedFrame(fromSeq: seq + 1, toSeq: lastSeqCovered, frame: frame)
        return frame
    }
}
