import XCTest
@testable import GatewayCore

/// `EventLog`: gap-free seqs from 1, trimming to capacity, the resume rule of docs/protocol.md,
/// byte offsets, and bounded memory over long runs.
final class EventLogTests: XCTestCase {
    private func delta(_ i: Int) -> SessionEventBody { .turnDelta(turn: "t", text: "d\(i)") }

    private func makeLog(capacity: Int, events: Int) -> EventLog {
        var log = EventLog(session: "s", capacity: capacity)
        for i in 1...max(1, events) where events > 0 { log.append(timestamp: 1000 + i, body: delta(i)) }
        return log
    }

    /// Private storage read through reflection, to check that memory stays bounded.
    private func storage(of log: EventLog) -> (entries: Int, head: Int) {
        var entries = -1
        var head = -1
        for child in Mirror(reflecting: log).children {
            if child.label == "entries", let array = child.value as? [EventLog.Entry] { entries = array.count }
            if child.label == "head", let value = child.value as? Int { head = value }
        }
        return (entries, head)
    }

    func testEmptyLog() {
        let log = EventLog(session: "s", capacity: 4)
        XCTAssertEqual(log.session, "s")
        XCTAssertEqual(log.capacity, 4)
        XCTAssertEqual(log.lastSeq, 0)
        XCTAssertEqual(log.count, 0)
        XCTAssertEqual(log.totalBytes, 0)
        XCTAssertEqual(log.firstRetainedSeq, 1)
        XCTAssertTrue(log.isUntrimmed)
        XCTAssertTrue(log.canResume(after: 0))
        XCTAssertFalse(log.canResume(after: 1))
        XCTAssertFalse(log.canResume(after: -1))
        XCTAssertEqual(log.offset(after: 0), 0)
        XCTAssertNil(log.offset(after: 1))
        XCTAssertNil(log.event(seq: 0))
        XCTAssertNil(log.event(seq: 1))
        XCTAssertEqual(Array(log.events(after: 0)), [])
    }

    func testSeqsStartAtOneAndHaveNoGaps() {
        var log = EventLog(session: "room", capacity: 100)
        var appended: [SessionEvent] = []
        for i in 1...50 {
            let event = log.append(timestamp: i * 10, body: delta(i))
            XCTAssertEqual(event.seq, i)
            XCTAssertEqual(event.session, "room")
            XCTAssertEqual(event.timestamp, i * 10)
            XCTAssertEqual(event.body, delta(i))
            XCTAssertEqual(log.lastSeq, i)
            XCTAssertEqual(log.count, i)
            appended.append(event)
        }
        XCTAssertEqual(Array(log.events(after: 0)), appended)
        XCTAssertEqual(log.events(after: 0).map(\.seq), Array(1...50))
        for i in 1...50 { XCTAssertEqual(log.event(seq: i), appended[i - 1]) }
        XCTAssertNil(log.event(seq: 51))
        XCTAssertTrue(log.isUntrimmed)
        XCTAssertEqual(log.totalBytes, appended.reduce(0) { $0 + $1.encoded.count })
    }

    func testTrimmingAtCapacity() {
        var log = EventLog(session: "s", capacity: 3)
        for i in 1...3 { log.append(timestamp: i, body: delta(i)) }
        XCTAssertEqual(log.count, 3)
        XCTAssertEqual(log.firstRetainedSeq, 1)
        XCTAssertTrue(log.isUntrimmed, "exactly at capacity nothing is trimmed yet")
        log.append(timestamp: 4, body: delta(4))
        XCTAssertEqual(log.count, 3)
        XCTAssertEqual(log.firstRetainedSeq, 2)
        XCTAssertFalse(log.isUntrimmed)
        log.append(timestamp: 5, body: delta(5))
        XCTAssertEqual(log.count, 3)
        XCTAssertEqual(log.firstRetainedSeq, 3)
        XCTAssertEqual(log.lastSeq, 5)
        XCTAssertNil(log.event(seq: 1))
        XCTAssertNil(log.event(seq: 2))
        XCTAssertEqual(log.event(seq: 3)?.body, delta(3))
        XCTAssertEqual(log.event(seq: 5)?.body, delta(5))
        XCTAssertNil(log.event(seq: 6))
        XCTAssertEqual(log.events(after: 2).map(\.seq), [3, 4, 5])
        XCTAssertEqual(log.events(after: 4).map(\.seq), [5])
    }

    func testCapacityOne() {
        var log = EventLog(session: "s", capacity: 1)
        for i in 1...10 {
            log.append(timestamp: i, body: delta(i))
            XCTAssertEqual(log.count, 1)
            XCTAssertEqual(log.firstRetainedSeq, i)
            XCTAssertEqual(log.event(seq: i)?.body, delta(i))
            XCTAssertTrue(log.canResume(after: i - 1))
            XCTAssertTrue(log.canResume(after: i))
            if i >= 2 { XCTAssertFalse(log.canResume(after: i - 2)) }
        }
        XCTAssertEqual(log.events(after: 9).map(\.seq), [10])
    }

    /// `after_seq >= first retained seq - 1` and `<= last seq`, exactly.
    func testCanResumeBoundaries() {
        let log = makeLog(capacity: 5, events: 12)  // retains 8...12
        XCTAssertEqual(log.firstRetainedSeq, 8)
        XCTAssertEqual(log.lastSeq, 12)
        for seq in -2...15 {
            XCTAssertEqual(log.canResume(after: seq), seq >= 7 && seq <= 12, "after \(seq)")
            XCTAssertEqual(log.offset(after: seq) != nil, seq >= 7 && seq <= 12, "offset after \(seq)")
            let events = log.events(after: seq)
            if seq >= 7 && seq <= 12 {
                XCTAssertEqual(events.map(\.seq), Array(stride(from: seq + 1, through: 12, by: 1)), "events after \(seq)")
            } else {
                XCTAssertTrue(events.isEmpty, "events after \(seq)")
            }
        }
    }

    func testCanResumeOnUntrimmedLog() {
        let log = makeLog(capacity: 10, events: 4)
        for seq in -1...6 { XCTAssertEqual(log.canResume(after: seq), (0...4).contains(seq), "after \(seq)") }
    }

    func testOffsetsAreByteCountsUpToTheEvent() {
        var log = EventLog(session: "s", capacity: 4)
        var ends = [0]  // ends[k] = bytes of events 1...k
        for i in 1...10 {
            let event = log.append(timestamp: i, body: i % 3 == 0 ? .message(id: "m\(i)", author: "a", text: String(repeating: "x", count: i)) : delta(i))
            ends.append(ends[i - 1] + event.encoded.count)
            XCTAssertEqual(log.totalBytes, ends[i])
            for seq in 0...i {
                let expected: Int? = seq >= log.firstRetainedSeq - 1 ? ends[seq] : nil
                XCTAssertEqual(log.offset(after: seq), expected, "after appending \(i), offset after \(seq)")
            }
            XCTAssertNil(log.offset(after: i + 1))
            XCTAssertEqual(log.offset(after: log.lastSeq), log.totalBytes)
        }
    }

    func testEventsAfterIsACopyUnaffectedByLaterAppends() {
        var log = makeLog(capacity: 3, events: 3)
        let slice = log.events(after: 0)
        for i in 4...10 { log.append(timestamp: i, body: delta(i)) }
        XCTAssertEqual(slice.map(\.seq), [1, 2, 3])
    }

    func testEncodedBytesAreStoredWithTheEvent() {
        var log = EventLog(session: "s", capacity: 4)
        let event = log.append(timestamp: 7, body: .turnStart(turn: "t", model: "demo"))
        XCTAssertEqual(event.encoded, SessionEvent(session: "s", seq: 1, timestamp: 7, body: .turnStart(turn: "t", model: "demo")).encoded)
        XCTAssertEqual(log.event(seq: 1)?.encoded, event.encoded)
    }

    /// 100k appends with capacity 16: the retained window is always exactly the last 16, and the
    /// backing array is compacted lazily so memory stays bounded.
    func testLongRunKeepsMemoryBoundedAndCompactsCorrectly() {
        let capacity = 16
        var log = EventLog(session: "s", capacity: capacity)
        var expectedBytes = 0
        var maxEntries = 0
        var compactions = 0
        var previousHead = 0
        let body = SessionEventBody.turnDelta(turn: "t", text: "x")
        for i in 1...100_000 {
            let event = log.append(timestamp: i, body: body)
            expectedBytes += event.encoded.count
            XCTAssertEqual(event.seq, i)
            XCTAssertEqual(log.count, min(i, capacity))
            if i >= capacity { XCTAssertEqual(log.firstRetainedSeq, i - capacity + 1) }
            let (entries, head) = storage(of: log)
            maxEntries = max(maxEntries, entries)
            if head < previousHead { compactions += 1 }
            previousHead = head
            XCTAssertEqual(entries - head, log.count)
            // Around compactions, and every so often, check the whole window.
            if head <= 1 || head >= 1020 || i % 997 == 0 {
                for seq in log.firstRetainedSeq...log.lastSeq { XCTAssertEqual(log.event(seq: seq)?.seq, seq) }
                XCTAssertEqual(log.events(after: log.firstRetainedSeq - 1).map(\.seq), Array(log.firstRetainedSeq...log.lastSeq))
                XCTAssertEqual(log.offset(after: log.lastSeq), log.totalBytes)
                let first = log.event(seq: log.firstRetainedSeq)!
                XCTAssertEqual(log.offset(after: log.firstRetainedSeq - 1), log.totalBytes - capacity * first.encoded.count + (i.description.count - first.seq.description.count) * 0
                               - (log.events(after: log.firstRetainedSeq - 1).reduce(0) { $0 + $1.encoded.count } - capacity * first.encoded.count))
            }
        }
        XCTAssertEqual(log.count, capacity)
        XCTAssertEqual(log.lastSeq, 100_000)
        XCTAssertEqual(log.totalBytes, expectedBytes)
        XCTAssertGreaterThan(compactions, 50, "the backing array is compacted as the run goes")
        XCTAssertLessThanOrEqual(maxEntries, 1024 + capacity, "backing storage stays bounded")
        XCTAssertFalse(log.canResume(after: 100_000 - capacity - 1))
        XCTAssertTrue(log.canResume(after: 100_000 - capacity))
    }

    func testLargeCapacityStaysWithinTwiceCapacity() {
        let capacity = 2000
        var log = EventLog(session: "s", capacity: capacity)
        var maxEntries = 0
        for i in 1...20_000 {
            log.append(timestamp: i, body: .turnDelta(turn: "t", text: "y"))
            maxEntries = max(maxEntries, storage(of: log).entries)
        }
        XCTAssertEqual(log.count, capacity)
        XCTAssertLessThanOrEqual(maxEntries, 2 * capacity + 1)
        XCTAssertEqual(log.events(after: log.firstRetainedSeq - 1).map(\.seq), Array(18_001...20_000))
    }

    func testALogStartingAfterASeqLooksTrimmedUpToIt() {
        var log = EventLog(session: "s", capacity: 3, startingAfter: 40)
        XCTAssertEqual(log.lastSeq, 40)
        XCTAssertEqual(log.count, 0)
        XCTAssertEqual(log.firstRetainedSeq, 41)
        XCTAssertFalse(log.isUntrimmed)
        XCTAssertTrue(log.canResume(after: 40))
        XCTAssertFalse(log.canResume(after: 39))
        XCTAssertEqual(log.offset(after: 40), 0)
        let appended = log.append(timestamp: 9, body: delta(41))
        XCTAssertEqual(appended.seq, 41)
        XCTAssertEqual(log.event(seq: 41), appended)
        XCTAssertEqual(log.totalBytes, appended.encoded.count)
    }

    func testEventsNumberedElsewhereKeepTheirSeqAndBytes() throws {
        var log = EventLog(session: "s", capacity: 2, startingAfter: 6)
        let frames = (7...9).map { Array(#"{"type":"turn.delta","session":"s","seq":\#($0),"turn":"t","text":"\/x","ts":1}"#.utf8) }
        for frame in frames { log.append(try SessionEvent(decoding: frame)) }
        XCTAssertEqual(log.lastSeq, 9)
        XCTAssertEqual(log.firstRetainedSeq, 8, "trimmed to capacity like any other log")
        XCTAssertEqual(log.events(after: 7).map(\.encoded), Array(frames[1...]))
        XCTAssertEqual(log.totalBytes, frames.map(\.count).reduce(0, +))
        XCTAssertEqual(log.offset(after: 8), frames[0].count + frames[1].count)
    }
}
