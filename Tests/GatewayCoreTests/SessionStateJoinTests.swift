import GatewayTestSupport
import XCTest
@testable import GatewayCore

/// `SessionState.join` and delivery to subscribers: the Resume rules of docs/protocol.md (replay
/// exactly after `after_seq` while the log holds it, the whole untrimmed log, otherwise a snapshot
/// of the transcript) and the same frames for every subscriber that keeps up.
final class SessionStateJoinTests: XCTestCase {
    private let alice = ConnectionID(1)
    private let bob = ConnectionID(2)

    /// Two finished turns with one delta each, seqs 1...8: no two deltas are adjacent, so a replay
    /// is one frame per event and can be compared with the log byte for byte.
    private func twoFinishedTurns(maxEvents: Int = 100) -> SessionState {
        var state = SessionState(id: "s", maxEvents: maxEvents, now: 0)
        for i in 1...2 {
            state.startTurn(message: "m\(i)", text: "question \(i)", turn: "t\(i)", now: i * 10)
            state.appendDelta(turn: "t\(i)", text: "answer \(i)", now: i * 10 + 1)
            state.finishTurn("t\(i)", now: i * 10 + 2)
        }
        return state
    }

    private func transcriptOfTwoFinishedTurns() -> [[String: JSONValue]] {
        (1...2).flatMap { i -> [[String: JSONValue]] in
            [["id": .string("m\(i)"), "role": .string("user"), "author": .string("guest-1"), "text": .string("question \(i)")],
             ["id": .string("t\(i)"), "role": .string("assistant"), "author": .string("demo"), "text": .string("answer \(i)"),
              "turn": .string("t\(i)"), "model": .string("demo"), "streaming": .bool(false), "finish": .string("stop")]]
        }
    }

    func testAfterSeqInsideTheWindowReplaysExactlyTheLaterEvents() {
        var state = twoFinishedTurns()
        XCTAssertEqual(state.join(alice, afterSeq: 3, now: 100), .joined(seq: 8, recovered: true))
        XCTAssertEqual(state.drainFrames(for: alice), state.encodedEvents(4...8))
    }

    func testAfterSeqOneBeforeTheFirstRetainedIsStillRecovered() {
        var state = twoFinishedTurns(maxEvents: 4)
        XCTAssertEqual(state.log.firstRetainedSeq, 5)
        XCTAssertEqual(state.join(alice, afterSeq: 4, now: 100), .joined(seq: 8, recovered: true))
        XCTAssertEqual(state.drainFrames(for: alice), state.encodedEvents(5...8))
    }

    func testAfterSeqEqualToTheLastIsRecoveredWithNothingToReplay() {
        var state = twoFinishedTurns(maxEvents: 4)
        XCTAssertEqual(state.join(alice, afterSeq: 8, now: 100), .joined(seq: 8, recovered: true))
        XCTAssertEqual(state.lagBytes(of: alice), 0)
        XCTAssertNil(state.nextFrame(for: alice))
    }

    func testAfterSeqZeroOnAnUntrimmedLogIsRecovered() {
        var state = twoFinishedTurns()
        XCTAssertEqual(state.join(alice, afterSeq: 0, now: 100), .joined(seq: 8, recovered: true))
        XCTAssertEqual(state.drainFrames(for: alice), state.encodedEvents(1...8))
    }

    func testAfterSeqOlderThanTheLogGetsTheSnapshotAlone() {
        var state = twoFinishedTurns(maxEvents: 4)
        XCTAssertEqual(state.join(alice, afterSeq: 3, now: 100), .joined(seq: 8, recovered: false))
        let frames = state.drainFrames(for: alice)
        XCTAssertEqual(frames.count, 1)
        let snapshot = DecodedFrame(frames[0])
        XCTAssertEqual(snapshot.type, "snapshot")
        XCTAssertEqual(snapshot.string("session"), "s")
        XCTAssertEqual(snapshot.seq, 8)
        XCTAssertEqual(snapshot.messages, transcriptOfTwoFinishedTurns())
    }

    func testAfterSeqBeyondTheLastGetsASnapshot() {
        var state = twoFinishedTurns()
        XCTAssertEqual(state.join(alice, afterSeq: 9, now: 100), .joined(seq: 8, recovered: false))
        let frames = state.drainFrames(for: alice).map { DecodedFrame($0) }
        XCTAssertEqual(frames.map(\.type), ["snapshot"])
        XCTAssertEqual(frames.first?.seq, 8)
        XCTAssertEqual(frames.first?.messages, transcriptOfTwoFinishedTurns())
    }

    func testNegativeAfterSeqGetsASnapshot() {
        var state = twoFinishedTurns()
        XCTAssertEqual(state.join(alice, afterSeq: -1, now: 100), .joined(seq: 8, recovered: false))
        XCTAssertEqual(state.drainFrames(for: alice).map { DecodedFrame($0).type }, ["snapshot"])
    }

    func testNoAfterSeqOnAnUntrimmedLogReplaysEverythingFromSeqOne() {
        var state = twoFinishedTurns()
        XCTAssertEqual(state.join(alice, afterSeq: nil, now: 100), .joined(seq: 8, recovered: false))
        let frames = state.drainFrames(for: alice)
        XCTAssertEqual(frames, state.encodedEvents(1...8))
        XCTAssertEqual(frames.map { DecodedFrame($0).seq }, Array(1...8))
    }

    func testNoAfterSeqOnAnEmptyLogJoinsAtZero() {
        var state = SessionState(id: "s", maxEvents: 4, now: 0)
        XCTAssertEqual(state.join(alice, afterSeq: nil, now: 1), .joined(seq: 0, recovered: false))
        XCTAssertNil(state.nextFrame(for: alice))
        state.startTurn(message: "m1", turn: "t1", now: 2)
        XCTAssertEqual(state.drainFrames(for: alice), state.encodedEvents(1...2))
    }

    func testNoAfterSeqOnATrimmedLogGetsASnapshot() {
        var state = twoFinishedTurns(maxEvents: 7)
        XCTAssertEqual(state.join(alice, afterSeq: nil, now: 100), .joined(seq: 8, recovered: false))
        let frames = state.drainFrames(for: alice).map { DecodedFrame($0) }
        XCTAssertEqual(frames.map(\.type), ["snapshot"])
        XCTAssertEqual(frames.first?.seq, 8)
        XCTAssertEqual(frames.first?.messages, transcriptOfTwoFinishedTurns())
    }

    func testSnapshotShowsTheStreamingTurnSoFarThenItsLiveEventsFollow() throws {
        var state = twoFinishedTurns(maxEvents: 3)
        state.startTurn(message: "m3", text: "question 3", turn: "t3", now: 50)
        state.appendDelta(turn: "t3", text: "Hel", now: 51)
        state.appendDelta(turn: "t3", text: "lo", now: 52)
        XCTAssertEqual(state.join(alice, afterSeq: nil, now: 53), .joined(seq: 12, recovered: false))

        let snapshot = DecodedFrame(try XCTUnwrap(state.nextFrame(for: alice)))
        XCTAssertEqual(snapshot.type, "snapshot")
        XCTAssertEqual(snapshot.seq, 12)
        XCTAssertEqual(snapshot.messages.count, 6)
        XCTAssertEqual(snapshot.messages.last, [
            "id": .string("t3"), "role": .string("assistant"), "author": .string("demo"), "text": .string("Hello"),
            "turn": .string("t3"), "model": .string("demo"), "streaming": .bool(true),
        ])
        XCTAssertNil(state.nextFrame(for: alice))

        state.appendDelta(turn: "t3", text: " world", now: 54)
        state.finishTurn("t3", now: 55)
        let live = state.drainFrames(for: alice)
        XCTAssertEqual(live, state.encodedEvents(13...14))
        XCTAssertEqual(live.map { DecodedFrame($0).type }, ["turn.delta", "turn.end"])
        XCTAssertEqual(DecodedFrame(live[0]).text, " world")
    }

    /// The snapshot is taken at join; events appended before the subscriber reads it still follow it
    /// without a gap.
    func testEventsAppendedBeforeThePendingSnapshotIsTakenFollowIt() {
        var state = twoFinishedTurns(maxEvents: 4)
        XCTAssertEqual(state.join(alice, afterSeq: 1, now: 100), .joined(seq: 8, recovered: false))
        state.startTurn(message: "m3", text: "question 3", turn: "t3", now: 101)
        let frames = state.drainFrames(for: alice)
        XCTAssertEqual(frames.count, 3)
        let snapshot = DecodedFrame(frames[0])
        XCTAssertEqual(snapshot.type, "snapshot")
        XCTAssertEqual(snapshot.seq, 8)
        XCTAssertEqual(snapshot.messages, transcriptOfTwoFinishedTurns(), "the snapshot is the transcript at join")
        XCTAssertEqual(Array(frames.dropFirst()), state.encodedEvents(9...10))
    }

    /// The snapshot is not lag: a transcript bigger than the outbound cap must not close the
    /// client (4008) again on every rejoin.
    func testASnapshotJoinStartsWithNoLag() throws {
        var state = twoFinishedTurns(maxEvents: 4)
        _ = state.join(alice, afterSeq: nil, now: 100)
        XCTAssertEqual(state.lagBytes(of: alice), 0)
        XCTAssertNotNil(state.nextFrame(for: alice))
        XCTAssertEqual(state.lagBytes(of: alice), 0)
    }

    /// Resume goes through the same cursor as live delivery, so deltas waiting at join come merged.
    func testRecoveredReplayMergesConsecutiveDeltasOfATurn() {
        var state = SessionState(id: "s", maxEvents: 100, now: 0)
        state.startTurn(message: "m1", turn: "t1", now: 1)
        for piece in ["a", "b", "c"] { state.appendDelta(turn: "t1", text: piece, now: 2) }
        state.finishTurn("t1", now: 3)
        XCTAssertEqual(state.join(alice, afterSeq: 2, now: 4), .joined(seq: 6, recovered: true))
        let frames = state.drainFrames(for: alice).map { DecodedFrame($0) }
        XCTAssertEqual(frames.map(\.type), ["turn.delta", "turn.end"])
        XCTAssertEqual(frames[0].fromSeq, 3)
        XCTAssertEqual(frames[0].seq, 5)
        XCTAssertEqual(frames[0].text, "abc")
        XCTAssertEqual(frames[1].seq, 6)
    }

    func testSubscribersThatKeepUpReceiveIdenticalFrames() {
        var state = SessionState(id: "s", maxEvents: 100, now: 0)
        _ = state.join(alice, afterSeq: nil, now: 0)
        _ = state.join(bob, afterSeq: nil, now: 0)
        var aliceFrames: [[UInt8]] = []
        var bobFrames: [[UInt8]] = []
        func deliver() {
            aliceFrames += state.drainFrames(for: alice)
            bobFrames += state.drainFrames(for: bob)
        }
        for turn in 1...3 {
            state.startTurn(message: "m\(turn)", turn: "t\(turn)", now: turn)
            deliver()
            for piece in 1...4 {
                state.appendDelta(turn: "t\(turn)", text: "p\(piece) ", now: turn)
                deliver()
            }
            state.finishTurn("t\(turn)", now: turn)
            deliver()
        }
        XCTAssertEqual(aliceFrames, bobFrames)
        XCTAssertEqual(aliceFrames, state.encodedEvents(1...21))
        XCTAssertTrue(aliceFrames.allSatisfy { DecodedFrame($0).fromSeq == nil }, "nothing was waiting, so nothing merged")
    }

    func testJoiningAgainRepositionsTheCursor() {
        var state = twoFinishedTurns()
        _ = state.join(alice, afterSeq: nil, now: 100)
        XCTAssertEqual(state.drainFrames(for: alice).count, 8)
        XCTAssertEqual(state.join(alice, afterSeq: 5, now: 101), .joined(seq: 8, recovered: true))
        XCTAssertEqual(state.drainFrames(for: alice), state.encodedEvents(6...8))
        XCTAssertEqual(state.subscribers.count, 1)
    }

    func testLeaveStopsDeliveryToThatSubscriberOnly() {
        var state = twoFinishedTurns()
        _ = state.join(alice, afterSeq: 8, now: 100)
        _ = state.join(bob, afterSeq: 8, now: 100)
        XCTAssertEqual(Set(state.subscriberIDs), [alice, bob])
        XCTAssertTrue(state.leave(alice, now: 101))
        XCTAssertFalse(state.leave(alice, now: 102), "already left")
        XCTAssertFalse(state.isSubscribed(alice))
        XCTAssertTrue(state.isSubscribed(bob))
        state.startTurn(message: "m3", turn: "t3", now: 103)
        XCTAssertNil(state.nextFrame(for: alice))
        XCTAssertEqual(state.lagBytes(of: alice), 0)
        XCTAssertEqual(state.drainFrames(for: bob), state.encodedEvents(9...10))
    }
}
