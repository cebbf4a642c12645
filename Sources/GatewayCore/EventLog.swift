/// The retained tail of a session's events, with gap-free sequence numbers from 1.
///
/// Besides seqs it counts encoded bytes: every event knows the total number of bytes appended up to
/// and including it (`endOffset`). A subscriber keeps the offset of its cursor, so how far behind it
/// is, in bytes, is one subtraction, even after the events it has not read were trimmed away.
public struct EventLog: Sendable {
    struct Entry: Sendable {
        let event: SessionEvent
        let endOffset: Int
    }

    public let session: String
    public let capacity: Int
    private var entries: [Entry] = []
    /// Index of the oldest retained entry in `entries`; the array is compacted lazily so trimming is amortised O(1).
    private var head = 0
    public private(set) var lastSeq = 0
    /// Encoded bytes ever appended.
    public private(set) var totalBytes = 0

    /// `startingAfter` > 0 makes a log whose first event will be `startingAfter + 1`, as if
    /// everything up to it had been trimmed: a mirror of a shared log that holds only its tail.
    public init(session: String, capacity: Int, startingAfter lastSeq: Int = 0) {
        precondition(capacity > 0, "the log must retain at least one event")
        precondition(lastSeq >= 0, "seqs start at 1")
        self.session = session
        self.capacity = capacity
        self.lastSeq = lastSeq
    }

    public var count: Int { entries.count - head }
    /// Seq of the oldest retained event; `lastSeq + 1` when nothing is retained.
    public var firstRetainedSeq: Int { lastSeq - count + 1 }
    public var isUntrimmed: Bool { firstRetainedSeq == 1 }

    @discardableResult
    public mutating func append(timestamp: Int, body: SessionEventBody) -> SessionEvent {
        let event = SessionEvent(session: session, seq: lastSeq + 1, timestamp: timestamp, body: body)
        append(event)
        return event
    }

    /// Appends an event numbered elsewhere (a shared log's), keeping its bytes; it must be the next seq.
    public mutating func append(_ event: SessionEvent) {
        precondition(event.seq == lastSeq + 1 && event.session == session, "events are appended in seq order")
        lastSeq = event.seq
        totalBytes += event.encoded.count
        entries.append(Entry(event: event, endOffset: totalBytes))
        if count > capacity {
            head += 1
            if head >= 1024 && head * 2 >= entries.count {
                entries.removeFirst(head)
                head = 0
            }
        }
    }

    /// Whether every event after `seq` is still retained (so a reader positioned at `seq` can continue).
    public func canResume(after seq: Int) -> Bool {
        seq >= firstRetainedSeq - 1 && seq <= lastSeq
    }

    /// Byte offset just after the event `seq`; nil if the log cannot say (`canResume(after:)` is false).
    public func offset(after seq: Int) -> Int? {
        guard canResume(after: seq) else { return nil }
        if seq == lastSeq { return totalBytes }
        let next = entry(seq: seq + 1)
        return next.endOffset - next.event.encoded.count
    }

    public func event(seq: Int) -> SessionEvent? {
        guard seq >= firstRetainedSeq, seq <= lastSeq else { return nil }
        return entry(seq: seq).event
    }

    /// The retained events after `seq`, oldest first (empty when `seq` is not resumable).
    public func events(after seq: Int) -> ArraySlice<SessionEvent> {
        guard canResume(after: seq) else { return [] }
        let start = head + (seq + 1 - firstRetainedSeq)
        return ArraySlice(entries[start...].map(\.event))
    }

    func entry(seq: Int) -> Entry {
        entries[head + (seq - firstRetainedSeq)]
    }
}
