import GatewayTestSupport
import XCTest
@testable import GatewayCore

/// `SubscriberCursor` on its own log: one frame per event while the reader keeps up, consecutive
/// deltas of one turn merged once it falls behind (`from_seq` = first covered, `seq` = last), lag in
/// encoded bytes, and a snapshot once its position is no longer in the log.
final class SubscriberCursorTests: XCTestCase {
    private var log = EventLog(session: "room", capacity: 100)
    private var transcript = Transcript()
    private var cursor = SubscriberCursor(seq: 0, offset: 0)

    private func append(_ body: SessionEventBody, at timestamp: Int = 1000) {
        transcript.apply(body)
        log.append(timestamp: timestamp, body: body)
    }

    private func delta(_ text: String, turn: String = "t1", at timestamp: Int = 1000) {
        append(.turnDelta(turn: turn, text: text), at: timestamp)
    }

    private func takeAll() -> [DecodedFrame] {
        var frames: [DecodedFrame] = []
        while let frame = cursor.next(in: log, transcript: transcript) { frames.append(DecodedFrame(frame)) }
        return frames
    }

    private func bytes(ofSeqs seqs: ClosedRange<Int>) -> Int {
        seqs.reduce(0) { $0 + (log.event(seq: $1)?.encoded.count ?? 0) }
    }

    func testUpToDateCursorHasNothingToTake() {
        XCTAssertNil(cursor.next(in: log, transcript: transcript))
        append(.turnStart(turn: "t1", model: "demo"))
        XCTAssertEqual(cursor.next(in: log, transcript: transcript), log.event(seq: 1)?.encoded)
        XCTAssertNil(cursor.next(in: log, transcript: transcript))
        XCTAssertEqual(cursor, SubscriberCursor(seq: 1, offset: log.totalBytes))
    }

    func testALoneWaitingDeltaIsSentAsItIs() {
        append(.turnStart(turn: "t1", model: "demo"))
        delta("only")
        XCTAssertEqual(cursor.next(in: log, transcript: transcript), log.event(seq: 1)?.encoded)
        XCTAssertEqual(cursor.next(in: log, transcript: transcript), log.event(seq: 2)?.encoded)
    }

    func testWaitingDeltasOfATurnAreMergedIntoOneFrame() {
        append(.turnStart(turn: "t1", model: "demo"), at: 1000)
        _ = cursor.next(in: log, transcript: transcript)
        delta("Hel", at: 1001)
        delta("lo, \"w", at: 1002)
        delta("örld\"\n", at: 1003)
        let frames = takeAll()
        XCTAssertEqual(frames.count, 1)
        XCTAssertEqual(frames[0].fields, [
            "type": .string("turn.delta"), "session": .string("room"), "seq": .int(4), "turn": .string("t1"),
            "text": .string("Hello, \"wörld\"\n"), "from_seq": .int(2), "ts": .int(1003),
        ])
        XCTAssertEqual(cursor, SubscriberCursor(seq: 4, offset: log.totalBytes))
    }

    func testMergingStopsAtTheFirstEventThatIsNotADelta() {
        append(.message(id: "m1", author: "a", text: "q"))
        append(.turnStart(turn: "t1", model: "demo"))
        delta("a")
        delta("b")
        append(.turnEnd(turn: "t1", finish: .stop, usage: TokenUsage(inputTokens: 1, outputTokens: 2, estimated: true),
                        upstreamFinish: nil, error: nil))
        delta("c", turn: "t2")
        delta("d", turn: "t2")
        let frames = takeAll()
        XCTAssertEqual(frames.map(\.type), ["message", "turn.start", "turn.delta", "turn.end", "turn.delta"])
        XCTAssertEqual(frames.map(\.seq), [1, 2, 4, 5, 7])
        XCTAssertEqual(frames.map(\.fromSeq), [nil, nil, 3, nil, 6])
        XCTAssertEqual(frames.compactMap(\.text), ["q", "ab", "cd"])
    }

    func testAdjacentDeltasOfDifferentTurnsAreNeverMerged() {
        delta("a", turn: "t1")
        delta("b", turn: "t1")
        delta("c", turn: "t2")
        delta("d", turn: "t1")
        delta("e", turn: "t2")
        let frames = takeAll()
        XCTAssertEqual(frames.map(\.turn), ["t1", "t2", "t1", "t2"])
        XCTAssertEqual(frames.map(\.fromSeq), [1, nil, nil, nil])
        XCTAssertEqual(frames.map(\.seq), [2, 3, 4, 5])
        XCTAssertEqual(frames.map(\.text), ["ab", "c", "d", "e"])
        XCTAssertEqual(Array(frames.dropFirst()).map { $0.fields }, (3...5).map { DecodedFrame(log.event(seq: $0)!.encoded).fields })
    }

    func testOnlyWhatIsWaitingIsMerged() {
        append(.turnStart(turn: "t1", model: "demo"))
        delta("a")
        XCTAssertEqual(takeAll().map(\.seq), [1, 2])
        delta("b")
        delta("c")
        XCTAssertEqual(takeAll().map(\.fromSeq), [3])
        delta("d")
        let frames = takeAll()
        XCTAssertEqual(frames.map(\.seq), [5])
        XCTAssertEqual(frames.map(\.fromSeq), [nil])
    }

    func testMergedFramesCoverEverySeqWithoutGaps() {
        var expectedNext = 1
        var text = ""
        append(.turnStart(turn: "t1", model: "demo"))
        for round in 1...20 {
            for piece in 0..<(round % 4) { delta("\(round).\(piece) ") }
            for frame in takeAll() {
                XCTAssertEqual(frame.fromSeq ?? frame.seq, expectedNext, "each frame starts right after the last")
                expectedNext = (frame.seq ?? 0) + 1
                if frame.type == "turn.delta" { text += frame.text ?? "" }
            }
        }
        XCTAssertEqual(expectedNext, log.lastSeq + 1)
        XCTAssertEqual(text, transcript.entries.last?.text)
    }

    func testLagBytesGrowWithAppendsAndShrinkAsFramesAreTaken() {
        XCTAssertEqual(cursor.lagBytes(in: log), 0)
        append(.message(id: "m1", author: "a", text: "q"))
        append(.turnStart(turn: "t1", model: "demo"))
        XCTAssertEqual(cursor.lagBytes(in: log), bytes(ofSeqs: 1...2))
        delta("a")
        delta("b")
        XCTAssertEqual(cursor.lagBytes(in: log), bytes(ofSeqs: 1...4))
        _ = cursor.next(in: log, transcript: transcript)
        XCTAssertEqual(cursor.lagBytes(in: log), bytes(ofSeqs: 2...4))
        _ = cursor.next(in: log, transcript: transcript)
        XCTAssertEqual(cursor.lagBytes(in: log), bytes(ofSeqs: 3...4))
        _ = cursor.next(in: log, transcript: transcript)
        XCTAssertEqual(cursor.lagBytes(in: log), 0, "a merged frame takes every delta it covers")
    }

    func testTheCapIsCheckedOnTheBacklogBehindTheNextEvent() {
        append(.message(id: "m1", author: "a", text: String(repeating: "x", count: 5000)))
        XCTAssertEqual(cursor.backlogBeyondNextEvent(in: log), 0, "one event, however big, is no backlog")
        append(.turnStart(turn: "t1", model: "demo"))
        XCTAssertEqual(cursor.backlogBeyondNextEvent(in: log), bytes(ofSeqs: 2...2))
        _ = cursor.next(in: log, transcript: transcript)
        XCTAssertEqual(cursor.backlogBeyondNextEvent(in: log), 0)
    }

    func testLagDoesNotCountAPendingSnapshot() {
        append(.message(id: "m1", author: "a", text: "q"))
        let snapshot: [UInt8] = Array("{\"type\":\"snapshot\"}".utf8)
        cursor = SubscriberCursor(seq: 1, offset: log.totalBytes, pendingSnapshot: snapshot)
        XCTAssertEqual(cursor.lagBytes(in: log), 0)
        append(.turnStart(turn: "t1", model: "demo"))
        XCTAssertEqual(cursor.lagBytes(in: log), bytes(ofSeqs: 2...2))
    }

    func testAPendingSnapshotGoesBeforeTheEventsAfterIt() {
        append(.message(id: "m1", author: "a", text: "q"))
        let snapshot = ServerFrame.snapshot(Snapshot(session: "room", seq: 1, entries: transcript.entries)).encode()
        cursor = SubscriberCursor(seq: 1, offset: log.totalBytes, pendingSnapshot: snapshot)
        append(.turnStart(turn: "t1", model: "demo"))
        XCTAssertEqual(cursor.next(in: log, transcript: transcript), snapshot)
        XCTAssertNil(cursor.pendingSnapshot)
        XCTAssertEqual(cursor.next(in: log, transcript: transcript), log.event(seq: 2)?.encoded)
        XCTAssertNil(cursor.next(in: log, transcript: transcript))
    }

    func testACursorThatFellOffTheLogGetsASnapshotThenLiveEvents() {
        log = EventLog(session: "room", capacity: 3)
        append(.message(id: "m1", author: "guest", text: "q"))
        append(.turnStart(turn: "t1", model: "demo"))
        delta("a")
        delta("b")
        delta("c")
        XCTAssertEqual(log.firstRetainedSeq, 3, "seq 1 is gone while the cursor still waits at 0")
        XCTAssertEqual(cursor.lagBytes(in: log), bytes(ofSeqs: 3...5) + log.offset(after: 2)!,
                       "lag still counts what was trimmed")

        let frames = takeAll()
        XCTAssertEqual(frames.map(\.type), ["snapshot"])
        XCTAssertEqual(frames[0].seq, 5)
        XCTAssertEqual(frames[0].messages.map { $0["text"] }, [.string("q"), .string("abc")])
        XCTAssertEqual(frames[0].messages.last?["streaming"], .bool(true))
        XCTAssertEqual(cursor, SubscriberCursor(seq: 5, offset: log.totalBytes))
        XCTAssertEqual(cursor.lagBytes(in: log), 0)

        delta("d")
        XCTAssertEqual(cursor.next(in: log, transcript: transcript), log.event(seq: 6)?.encoded)
    }

    func testACursorJustBeforeTheRetainedWindowStillGetsEvents() {
        log = EventLog(session: "room", capacity: 3)
        append(.message(id: "m1", author: "guest", text: "q"))
        _ = cursor.next(in: log, transcript: transcript)
        append(.turnStart(turn: "t1", model: "demo"))
        delta("a")
        delta("b")
        XCTAssertEqual(log.firstRetainedSeq, 2)
        let frames = takeAll()
        XCTAssertEqual(frames.map(\.type), ["turn.start", "turn.delta"])
        XCTAssertEqual(frames.map(\.fromSeq), [nil, 3])
    }

    /// Readers at the same place share one merged frame; a reader whose range differs (it started
    /// elsewhere, or more deltas arrived) gets its own, exactly as if nothing were shared.
    func testAMergedFrameIsSharedOnlyByReadersOfTheSameRange() {
        append(.turnStart(turn: "t1", model: "demo"))
        delta("a")
        delta("b")
        var lastMerged: SubscriberCursor.MergedFrame?
        var first = SubscriberCursor(seq: 1, offset: log.offset(after: 1)!)
        var second = first
        var behind = SubscriberCursor(seq: 0, offset: 0)
        let shared = first.next(in: log, transcript: transcript, lastMerged: &lastMerged)
        XCTAssertEqual(lastMerged?.fromSeq, 2)
        XCTAssertEqual(lastMerged?.toSeq, 3)
        XCTAssertEqual(second.next(in: log, transcript: transcript, lastMerged: &lastMerged), shared)
        XCTAssertEqual(first, second)

        delta("c")
        var unshared = SubscriberCursor(seq: 1, offset: log.offset(after: 1)!)
        var late = unshared
        let expected = unshared.next(in: log, transcript: transcript)
        XCTAssertEqual(late.next(in: log, transcript: transcript, lastMerged: &lastMerged), expected, "2...4, not the kept 2...3")
        XCTAssertEqual(DecodedFrame(expected!).fields["text"], .string("abc"))
        XCTAssertEqual(late, unshared)
        XCTAssertEqual(behind.next(in: log, transcript: transcript, lastMerged: &lastMerged), log.event(seq: 1)?.encoded)
        XCTAssertEqual(first.next(in: log, transcript: transcript, lastMerged: &lastMerged), log.event(seq: 4)?.encoded,
                       "a lone delta is sent as it is")
    }
}
