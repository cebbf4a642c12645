import GatewayTestSupport
import XCTest
@testable import GatewayCore

/// `SessionState` as a mirror of a shared log: built from a read of its tail, fed events numbered
/// elsewhere (bytes kept), refusing duplicates and reporting gaps, and re-seeded when what it missed
/// is gone, with every subscriber either continuing or getting a snapshot.
final class SessionStateReplicaTests: XCTestCase {
    private let alice = ConnectionID(1)
    private let bob = ConnectionID(2)

    /// The events an ordinary (primary) state appends for `turns` finished turns of one delta each,
    /// and that state, to compare mirrors with.
    private func primary(turns: Int, maxEvents: Int = 100) -> SessionState {
        var state = SessionState(id: "s", maxEvents: maxEvents, now: 0)
        for i in 1...turns {
            state.startTurn(message: "m\(i)", text: "question \(i)", turn: "t\(i)", now: i)
            state.appendDelta(turn: "t\(i)", text: "answer \(i)", now: i)
            state.finishTurn("t\(i)", now: i)
        }
        return state
    }

    private func seed(of state: SessionState, tail: Int) -> SessionState.ReplicaSeed {
        let events = Array(state.log.events(after: state.log.lastSeq - tail))
        return SessionState.ReplicaSeed(session: "s", lastSeq: state.log.lastSeq, events: events,
                                        transcript: state.transcript.entries, activeTurn: state.activeTurn)
    }

    func testAMirrorOfAnUntrimmedLogJoinsLikeTheOriginal() {
        let original = primary(turns: 2)
        var mirror = SessionState(replicaOf: seed(of: original, tail: 8), id: "s", maxEvents: 100, maxTranscriptEntries: 100, now: 0)
        XCTAssertTrue(mirror.log.isUntrimmed)
        XCTAssertEqual(mirror.join(alice, afterSeq: nil, now: 1), .joined(seq: 8, recovered: false))
        XCTAssertEqual(mirror.drainFrames(for: alice), original.encodedEvents(1...8))
    }

    func testAMirrorOfATailStartsAfterItAndSnapshotsOlderPositions() {
        let original = primary(turns: 3)
        var mirror = SessionState(replicaOf: seed(of: original, tail: 4), id: "s", maxEvents: 4, maxTranscriptEntries: 100, now: 0)
        XCTAssertEqual(mirror.log.firstRetainedSeq, 9)
        XCTAssertEqual(mirror.join(alice, afterSeq: 8, now: 1), .joined(seq: 12, recovered: true))
        XCTAssertEqual(mirror.drainFrames(for: alice), original.encodedEvents(9...12))
        XCTAssertEqual(mirror.join(bob, afterSeq: 7, now: 1), .joined(seq: 12, recovered: false))
        let frames = mirror.drainFrames(for: bob).map { DecodedFrame($0) }
        XCTAssertEqual(frames.map(\.type), ["snapshot"])
        XCTAssertEqual(frames[0].messages.count, 6)
    }

    func testASeedKeepsOnlyTheRunEndingAtItsLastSeq() {
        let original = primary(turns: 2)
        var events = Array(original.log.events(after: 0))
        events.remove(at: 3)
        let seed = SessionState.ReplicaSeed(session: "s", lastSeq: 8, events: events, transcript: [], activeTurn: nil)
        XCTAssertEqual(seed.events.map(\.seq), [5, 6, 7, 8])
        let foreign = SessionState.ReplicaSeed(session: "other", lastSeq: 8, events: Array(original.log.events(after: 0)),
                                               transcript: [], activeTurn: nil)
        XCTAssertEqual(foreign.events, [])
    }

    func testReplicatedEventsAreAppliedInOrderWithTheirBytesAndTheTranscriptFollows() {
        var original = SessionState(id: "s", maxEvents: 100, now: 0)
        var mirror = SessionState(replicaOf: .init(session: "s", lastSeq: 0, events: [], transcript: [], activeTurn: nil),
                                  id: "s", maxEvents: 100, maxTranscriptEntries: 100, now: 0)
        _ = mirror.join(alice, afterSeq: nil, now: 0)
        original.startTurn(message: "m1", text: "hi", turn: "t1", now: 1)
        original.appendDelta(turn: "t1", text: "Hel", now: 2)
        original.appendDelta(turn: "t1", text: "lo", now: 3)
        for event in original.log.events(after: 0) { XCTAssertEqual(mirror.applyReplicated(event, now: 4), .applied) }
        XCTAssertEqual(mirror.activeTurn, SessionState.ActiveTurn(turn: "t1", messageID: "m1", model: "demo"))
        XCTAssertEqual(mirror.transcript.entries, original.transcript.entries)
        original.finishTurn("t1", now: 5)
        XCTAssertEqual(mirror.applyReplicated(original.log.event(seq: 5)!, now: 6), .applied)
        XCTAssertNil(mirror.activeTurn)
        XCTAssertEqual(mirror.transcript.entries, original.transcript.entries)
        XCTAssertEqual(mirror.log.events(after: 0), original.log.events(after: 0))
        let frames = mirror.drainFrames(for: alice).map { DecodedFrame($0) }
        XCTAssertEqual(frames.map(\.seq), [1, 2, 4, 5], "the two waiting deltas come merged, as on the original")
    }

    func testDuplicatesAndGapsAreNotApplied() {
        let original = primary(turns: 2)
        var mirror = SessionState(replicaOf: seed(of: original, tail: 5), id: "s", maxEvents: 100, maxTranscriptEntries: 100, now: 0)
        let before = mirror.log
        XCTAssertEqual(mirror.applyReplicated(original.log.event(seq: 8)!, now: 1), .duplicate)
        XCTAssertEqual(mirror.applyReplicated(original.log.event(seq: 2)!, now: 1), .duplicate)
        let later = SessionEvent(session: "s", seq: 10, timestamp: 1, body: .message(id: "m9", author: "a", text: "x"))
        XCTAssertEqual(mirror.applyReplicated(later, now: 1), .gap(missingFrom: 9))
        let foreign = SessionEvent(session: "other", seq: 9, timestamp: 1, body: .message(id: "m9", author: "a", text: "x"))
        XCTAssertEqual(mirror.applyReplicated(foreign, now: 1), .duplicate, "another session's event is never applied")
        XCTAssertEqual(mirror.log.events(after: 3), before.events(after: 3))
        XCTAssertEqual(mirror.log.lastSeq, 8)
    }

    func testReseedKeepsSubscribersWhoseNextEventIsHeldAndSnapshotsTheOthers() {
        let original = primary(turns: 4)
        var mirror = SessionState(replicaOf: seed(of: primary(turns: 2), tail: 8), id: "s", maxEvents: 6, maxTranscriptEntries: 100, now: 0)
        _ = mirror.join(alice, afterSeq: 8, now: 0)
        _ = mirror.join(bob, afterSeq: 2, now: 0)
        // Seqs 9...16 were missed and the shared log now holds 13...16 only: alice (at 8) cannot go on, bob neither.
        mirror.reseed(seed(of: original, tail: 4), now: 1)
        XCTAssertEqual(mirror.log.firstRetainedSeq, 13)
        for connection in [alice, bob] {
            let frames = mirror.drainFrames(for: connection).map { DecodedFrame($0) }
            XCTAssertEqual(frames.map(\.type), ["snapshot"])
            XCTAssertEqual(frames[0].seq, 16)
            XCTAssertEqual(frames[0].messages.count, 8)
        }
        // A subscriber at 12 continues with 13 once re-seeded.
        var other = SessionState(replicaOf: seed(of: primary(turns: 3), tail: 6), id: "s", maxEvents: 6, maxTranscriptEntries: 100, now: 0)
        _ = other.join(alice, afterSeq: 12, now: 0)
        other.reseed(seed(of: original, tail: 4), now: 1)
        XCTAssertEqual(other.drainFrames(for: alice), original.encodedEvents(13...16))
    }

    func testReseedOnALogThatStartedAgainGivesEveryoneASnapshotAtItsSeq() {
        var mirror = SessionState(replicaOf: seed(of: primary(turns: 2), tail: 8), id: "s", maxEvents: 100, maxTranscriptEntries: 100, now: 0)
        _ = mirror.join(alice, afterSeq: nil, now: 0)
        _ = mirror.drainFrames(for: alice)
        // The shared store lost the session (a restart without persistence): it is empty again.
        mirror.reseed(.init(session: "s", lastSeq: 0, events: [], transcript: [], activeTurn: nil), now: 1)
        let frames = mirror.drainFrames(for: alice).map { DecodedFrame($0) }
        XCTAssertEqual(frames.map(\.type), ["snapshot"])
        XCTAssertEqual(frames[0].seq, 0)
        XCTAssertEqual(frames[0].messages, [])
        var fresh = SessionState(id: "s", maxEvents: 100, now: 0)
        fresh.startTurn(message: "m1", turn: "t1", now: 2)
        for event in fresh.log.events(after: 0) { XCTAssertEqual(mirror.applyReplicated(event, now: 2), .applied) }
        XCTAssertEqual(mirror.drainFrames(for: alice), fresh.encodedEvents(1...2))
    }

    func testTheFanoutNamesWhoPassedTheCap() {
        var state = primary(turns: 1)
        _ = state.join(alice, afterSeq: nil, now: 0)
        _ = state.join(bob, afterSeq: nil, now: 0)
        _ = state.drainFrames(for: alice)
        let backlogBeyondFirst = state.log.totalBytes - state.log.event(seq: 1)!.encoded.count
        let atTheCap = state.fanout(outboundCapBytes: backlogBeyondFirst)
        XCTAssertEqual(Set(atTheCap.wake), [alice, bob])
        XCTAssertEqual(atTheCap.slowConsumers, [])
        let fanout = state.fanout(outboundCapBytes: backlogBeyondFirst - 1)
        XCTAssertEqual(fanout.wake, [alice])
        XCTAssertEqual(fanout.slowConsumers, [bob])
    }
}
