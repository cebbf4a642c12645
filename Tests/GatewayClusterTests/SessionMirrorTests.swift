@testable import GatewayCluster
import GatewayTestSupport
import GatewayCore
import Synchronization
import XCTest

/// `SessionMirror` without Redis: the order subscribe → confirmed → read → buffered frames, gap
/// reads, seeds that replace the mirror, stale replies, failures. Events come from an ordinary
/// `SessionState`, as another node would have appended them.
final class SessionMirrorTests: XCTestCase {
    private let alice = ConnectionID(1)
    private let bob = ConnectionID(2)
    private final class Answers: Sendable {
        let byConnection = Mutex<[ConnectionID: Result<SessionState.JoinOutcome, SessionStoreError>]>([:])
    }
    private let answers = Answers()

    /// The events of `turns` finished turns with two deltas each (5 events a turn).
    private func events(turns: Int) -> [SessionEvent] {
        var state = SessionState(id: "s", maxEvents: 1000, now: 0)
        for i in 1...turns {
            _ = state.acceptMessage(id: "m\(i)", author: "guest-1", text: "question \(i)", turn: "t\(i)", historyLimit: 40,
                                    now: i) { _ in TurnAdmission(model: "demo") }
            state.appendDelta(turn: "t\(i)", text: "a\(i)", now: i)
            state.appendDelta(turn: "t\(i)", text: "b\(i)", now: i)
            state.endTurn(turn: "t\(i)", finish: .stop, usage: StoreDriver.usage, upstreamFinish: nil, error: nil, now: i)
        }
        return Array(state.log.events(after: 0))
    }

    private func seed(_ events: [SessionEvent], through seq: Int, keeping tail: Int = 1000) -> SessionState.ReplicaSeed {
        let held = events.filter { $0.seq <= seq }
        var transcript = Transcript(maxEntries: 100)
        for event in held { transcript.apply(event.body) }
        return SessionState.ReplicaSeed(session: "s", lastSeq: seq, events: Array(held.suffix(tail)),
                                        transcript: transcript.entries, activeTurn: nil)
    }

    private func mirror(maxEvents: Int = 100) -> SessionMirror {
        SessionMirror(session: "s", maxEvents: maxEvents, maxTranscriptEntries: 100, outboundCapBytes: 1 << 20)
    }

    private func join(_ connection: ConnectionID, afterSeq: Int? = nil) -> SessionMirror.PendingJoin {
        SessionMirror.PendingJoin(connection: connection, afterSeq: afterSeq) { [answers] result in
            answers.byConnection.withLock { $0[connection] = result }
        }
    }

    private func complete(_ effects: SessionMirror.Effects) {
        for (join, result) in effects.completions { join.completion(result) }
    }

    private func answer(_ connection: ConnectionID) -> Result<SessionState.JoinOutcome, SessionStoreError>? {
        answers.byConnection.withLock { $0[connection] }
    }

    private func frames(_ mirror: inout SessionMirror, _ connection: ConnectionID) -> [DecodedFrame] {
        var frames: [DecodedFrame] = []
        while let frame = mirror.nextFrame(for: connection) { frames.append(DecodedFrame(frame)) }
        return frames
    }

    /// A mirror seeded through `seq` with alice joined from the start.
    private func live(_ all: [SessionEvent], through seq: Int, maxEvents: Int = 100) -> SessionMirror {
        var mirror = mirror(maxEvents: maxEvents)
        _ = mirror.join(join(alice, afterSeq: 0), now: 0)
        _ = mirror.subscribed()
        complete(mirror.readArrived(.seed(seed(all, through: seq)), for: .tail(generation: 1), now: 0))
        return mirror
    }

    func testAFirstJoinWaitsForTheSubscriptionThenTheReadThenTheFramesBufferedMeanwhile() {
        let all = events(turns: 2)
        var mirror = mirror()
        XCTAssertTrue(mirror.join(join(alice, afterSeq: 2), now: 0).completions.isEmpty)
        XCTAssertEqual(mirror.received(all[0], now: 0).read, nil, "before the confirmation frames are the read's to cover")
        let confirmed = mirror.subscribed()
        XCTAssertEqual(confirmed.read, .tail(generation: 1))
        XCTAssertEqual(mirror.phase, .loading)
        for event in all[3...6] { XCTAssertNil(mirror.received(event, now: 0).read) }
        let loaded = mirror.readArrived(.seed(seed(all, through: 5)), for: .tail(generation: 1), now: 0)
        complete(loaded)
        XCTAssertEqual(mirror.phase, .live)
        XCTAssertEqual(answer(alice), .success(.joined(seq: 7, recovered: true)), "placed after the buffered frames")
        XCTAssertEqual(frames(&mirror, alice).compactMap(\.coveredSeqs), [3...4, 5...5, 6...6, 7...7],
                       "4 and 5 were both read and held, and go out once")
    }

    func testLiveFramesAreAppliedAndWakeTheSubscribers() {
        let all = events(turns: 1)
        var mirror = live(all, through: 2)
        _ = frames(&mirror, alice)
        let applied = mirror.received(all[2], now: 0)
        XCTAssertEqual(applied.fanout, Fanout(wake: [alice]))
        XCTAssertEqual(mirror.received(all[2], now: 0).fanout, .none, "a repeat wakes nobody")
        XCTAssertEqual(frames(&mirror, alice).map(\.bytes), [all[2].encoded])
    }

    func testAGapStartsAReadOfWhatFollowsAndHoldsLaterFramesUntilItIsBack() {
        let all = events(turns: 2)
        var mirror = live(all, through: 3)
        _ = frames(&mirror, alice)
        XCTAssertEqual(mirror.received(all[5], now: 0).read, .after(seq: 3, generation: 2))
        XCTAssertEqual(mirror.phase, .filling)
        XCTAssertNil(mirror.received(all[6], now: 0).read)
        let filled = mirror.readArrived(.events(Array(all[3...5]), lastSeq: 6), for: .after(seq: 3, generation: 2), now: 0)
        XCTAssertEqual(filled.fanout, Fanout(wake: [alice]))
        XCTAssertEqual(mirror.phase, .live)
        XCTAssertEqual(frames(&mirror, alice).compactMap(\.coveredSeqs), [4...4, 5...5, 6...6, 7...7])
    }

    func testAnEventListThatStopsShortAsksForASeedWhichSnapshotsWhoCannotGoOn() {
        let all = events(turns: 3)
        var mirror = live(all, through: 3, maxEvents: 4)
        _ = frames(&mirror, alice)
        XCTAssertEqual(mirror.received(all[8], now: 0).read, .after(seq: 3, generation: 2))
        // Redis held 4...9 but 6 would not decode: the list stops before it.
        let short = mirror.readArrived(.events(Array(all[3...4]), lastSeq: 9), for: .after(seq: 3, generation: 2), now: 0)
        XCTAssertEqual(short.read, .tail(generation: 3))
        XCTAssertEqual(frames(&mirror, alice).compactMap(\.coveredSeqs), [4...4, 5...5])
        let reseeded = mirror.readArrived(.seed(seed(all, through: 12, keeping: 4)), for: .tail(generation: 3), now: 0)
        XCTAssertEqual(reseeded.fanout, Fanout(wake: [alice]))
        let taken = frames(&mirror, alice)
        XCTAssertEqual(taken.map(\.type), ["snapshot"], "6...8 are not in the seed: alice, at 5, gets a snapshot at its last")
        XCTAssertEqual(taken.last?.seq, 12)
        XCTAssertEqual(taken.last?.messages.count, 6)
    }

    func testALateReplyToAnOlderReadIsIgnored() {
        let all = events(turns: 2)
        var mirror = live(all, through: 3)
        XCTAssertEqual(mirror.resubscribed().read, .after(seq: 3, generation: 2))
        XCTAssertEqual(mirror.resubscribed().read, .after(seq: 3, generation: 3))
        let stale = mirror.readArrived(.events(Array(all[3...4]), lastSeq: 5), for: .after(seq: 3, generation: 2), now: 0)
        XCTAssertEqual(stale.fanout, .none)
        XCTAssertEqual(mirror.phase, .filling)
        _ = mirror.readArrived(.events(Array(all[3...5]), lastSeq: 6), for: .after(seq: 3, generation: 3), now: 0)
        XCTAssertEqual(mirror.state?.log.lastSeq, 6)
        XCTAssertEqual(mirror.phase, .live)
    }

    func testAJoinBeyondWhatTheMirrorHoldsWaitsForACatchUpRead() {
        let all = events(turns: 1)
        var mirror = live(all, through: 3)
        let asked = mirror.join(join(bob, afterSeq: 5), now: 0)
        XCTAssertTrue(asked.completions.isEmpty, "bob saw 5 through another node: it is on its way here")
        XCTAssertEqual(asked.read, .after(seq: 3, generation: 2))
        complete(mirror.readArrived(.events(Array(all[3...4]), lastSeq: 5), for: .after(seq: 3, generation: 2), now: 0))
        XCTAssertEqual(answer(bob), .success(.joined(seq: 5, recovered: true)))
        XCTAssertEqual(frames(&mirror, bob), [])
        // Beyond even Redis's last: the join rules' snapshot.
        complete(mirror.join(join(bob, afterSeq: 9), now: 0))
        complete(mirror.readArrived(.events([], lastSeq: 5), for: .after(seq: 5, generation: 3), now: 0))
        XCTAssertEqual(answer(bob), .success(.joined(seq: 5, recovered: false)))
        XCTAssertEqual(frames(&mirror, bob).map(\.type), ["snapshot"])
    }

    func testAFailedFirstReadFailsTheWaitingJoinsAndRetiresTheMirror() {
        var mirror = mirror()
        _ = mirror.join(join(alice), now: 0)
        _ = mirror.join(join(bob, afterSeq: 3), now: 0)
        _ = mirror.subscribed()
        let failed = mirror.readArrived(.failed(.unavailable("down")), for: .tail(generation: 1), now: 0)
        XCTAssertTrue(failed.retire)
        complete(failed)
        XCTAssertEqual(answer(alice), .failure(.unavailable("down")))
        XCTAssertEqual(answer(bob), .failure(.unavailable("down")))
        XCTAssertTrue(mirror.isUnused)
    }

    func testAFailedGapReadStallsTheMirrorUntilTheNextFrameTriesAgain() {
        let all = events(turns: 1)
        var mirror = live(all, through: 2)
        _ = frames(&mirror, alice)
        _ = mirror.received(all[3], now: 0)
        _ = mirror.join(join(bob, afterSeq: 4), now: 0)
        let failed = mirror.readArrived(.failed(.unavailable("down")), for: .after(seq: 2, generation: 2), now: 0)
        XCTAssertFalse(failed.retire, "the mirror keeps its subscribers")
        complete(failed)
        XCTAssertEqual(answer(bob), .failure(.unavailable("down")), "a join that needed Redis fails")
        XCTAssertEqual(mirror.phase, .stalled)
        XCTAssertEqual(mirror.received(all[4], now: 0).read, .after(seq: 2, generation: 3))
        _ = mirror.readArrived(.events(Array(all[2...3]), lastSeq: 4), for: .after(seq: 2, generation: 3), now: 0)
        XCTAssertEqual(frames(&mirror, alice).compactMap(\.coveredSeqs), [3...4, 5...5], "both held frames kept, in order")
    }

    func testTheSubscriptionTimeoutOnlyGivesUpOnAMirrorStillWaitingForIt() {
        var waiting = mirror()
        _ = waiting.join(join(alice), now: 0)
        let timedOut = waiting.subscribeTimedOut()
        XCTAssertTrue(timedOut.retire)
        complete(timedOut)
        guard case .failure(.unavailable)? = answer(alice) else { return XCTFail("\(String(describing: answer(alice)))") }
        var loaded = live(events(turns: 1), through: 5)
        XCTAssertFalse(loaded.subscribeTimedOut().retire)
        XCTAssertEqual(loaded.phase, .live)
    }

    func testFramesHeldDuringALongReadAreCappedAndTheRestIsReadAgain() {
        let all = events(turns: 4)
        var mirror = live(all, through: 1, maxEvents: 5)
        _ = frames(&mirror, alice)
        XCTAssertEqual(mirror.received(all[2], now: 0).read, .after(seq: 1, generation: 2))
        for event in all[3...19] { _ = mirror.received(event, now: 0) }
        // The read answers as of seq 3; only 16...20 are still held, so the rest is a gap read again.
        let filled = mirror.readArrived(.events(Array(all[1...2]), lastSeq: 3), for: .after(seq: 1, generation: 2), now: 0)
        XCTAssertEqual(filled.read, .after(seq: 3, generation: 3))
        _ = mirror.readArrived(.seed(seed(all, through: 20, keeping: 5)), for: .after(seq: 3, generation: 3), now: 0)
        XCTAssertEqual(mirror.state?.log.lastSeq, 20)
        XCTAssertEqual(mirror.phase, .live)
    }
}
