import GatewayTestSupport
import XCTest
@testable import GatewayCore

/// Messages and turns in `SessionState`: acks, message-id dedup, `busy`, `overloaded`, one active
/// turn with exactly one `turn.end`, and when a session counts as idle (docs/protocol.md).
final class SessionStateTurnTests: XCTestCase {
    private let usage = TokenUsage(inputTokens: 12, outputTokens: 3, estimated: false)

    private func accept(_ state: inout SessionState, id: String, text: String = "hi", turn: String, now: Int = 0,
                        historyLimit: Int = 40, admit: ([ChatMessage]) -> Bool = { _ in true }) -> SessionState.MessageOutcome {
        state.acceptMessage(id: id, author: "guest-1", text: text, turn: turn,
                            historyLimit: historyLimit, now: now, admit: { admit($0) ? TurnAdmission(model: "demo") : nil })
    }

    private func countOfTurnEnds(in state: SessionState) -> Int {
        state.log.events(after: state.log.firstRetainedSeq - 1).filter { $0.body.typeName == "turn.end" }.count
    }

    func testAcceptedMessageAppendsTheMessageThenTheTurnStart() {
        var state = SessionState(id: "s", maxEvents: 10, now: 0)
        XCTAssertEqual(accept(&state, id: "m1", text: "Hi there", turn: "t1", now: 500), .accepted(ackSeq: 1))
        XCTAssertEqual(state.log.lastSeq, 2)
        XCTAssertEqual(state.log.event(seq: 1)?.body, .message(id: "m1", author: "guest-1", text: "Hi there"))
        XCTAssertEqual(state.log.event(seq: 2)?.body, .turnStart(turn: "t1", model: "demo"))
        XCTAssertEqual(state.log.event(seq: 1)?.timestamp, 500)
        XCTAssertEqual(state.log.event(seq: 2)?.timestamp, 500)
        XCTAssertEqual(state.activeTurn, SessionState.ActiveTurn(turn: "t1", messageID: "m1", model: "demo"))
        XCTAssertEqual(state.transcript.entries.map(\.role), [.user, .assistant])
    }

    func testAckSeqIsTheSeqOfTheMessageEvent() {
        var state = SessionState(id: "s", maxEvents: 10, now: 0)
        state.startTurn(message: "m1", turn: "t1")
        state.appendDelta(turn: "t1", text: "x", now: 0)
        state.finishTurn("t1")
        XCTAssertEqual(accept(&state, id: "m2", turn: "t2"), .accepted(ackSeq: 5))
        XCTAssertEqual(state.log.event(seq: 5)?.body, .message(id: "m2", author: "guest-1", text: "hi"))
    }

    func testAdmitIsGivenTheHistoryBeforeTheNewMessage() {
        var state = SessionState(id: "s", maxEvents: 10, now: 0)
        state.startTurn(message: "m1", text: "question", turn: "t1")
        state.appendDelta(turn: "t1", text: "answer", now: 0)
        state.finishTurn("t1")
        var seen: [[ChatMessage]] = []
        _ = accept(&state, id: "m2", text: "next", turn: "t2", historyLimit: 10) { seen.append($0); return false }
        _ = accept(&state, id: "m2", text: "next", turn: "t2", historyLimit: 1) { seen.append($0); return false }
        XCTAssertEqual(seen, [
            [ChatMessage(role: .user, content: "question"), ChatMessage(role: .assistant, content: "answer")],
            [ChatMessage(role: .assistant, content: "answer")],
        ])
    }

    func testRepeatedIdGetsTheOriginalAckAndAppendsNothing() {
        var state = SessionState(id: "s", maxEvents: 10, now: 0)
        state.startTurn(message: "m1", turn: "t1")
        state.finishTurn("t1")
        state.startTurn(message: "m2", turn: "t2")
        state.finishTurn("t2")
        let lastSeq = state.log.lastSeq
        var asked = false
        XCTAssertEqual(accept(&state, id: "m1", turn: "t3") { _ in asked = true; return true }, .duplicate(ackSeq: 1))
        XCTAssertEqual(accept(&state, id: "m2", turn: "t3") { _ in asked = true; return true }, .duplicate(ackSeq: 4))
        XCTAssertFalse(asked, "a duplicate never reaches the workers")
        XCTAssertEqual(state.log.lastSeq, lastSeq)
        XCTAssertNil(state.activeTurn)
    }

    func testRepeatedIdDuringItsOwnTurnIsADuplicateNotBusy() {
        var state = SessionState(id: "s", maxEvents: 10, now: 0)
        state.startTurn(message: "m1", turn: "t1")
        XCTAssertEqual(accept(&state, id: "m1", turn: "t2"), .duplicate(ackSeq: 1))
        XCTAssertEqual(state.log.lastSeq, 2)
        XCTAssertEqual(state.activeTurn?.turn, "t1")
    }

    func testAnotherMessageDuringTheActiveTurnIsBusyAndItsIdStaysUnused() {
        var state = SessionState(id: "s", maxEvents: 10, now: 0)
        state.startTurn(message: "m1", turn: "t1")
        var asked = false
        XCTAssertEqual(accept(&state, id: "m2", turn: "t2") { _ in asked = true; return true }, .busy)
        XCTAssertFalse(asked)
        XCTAssertEqual(state.log.lastSeq, 2)
        XCTAssertEqual(state.transcript.entries.count, 2)
        XCTAssertEqual(state.activeTurn?.turn, "t1")

        state.finishTurn("t1")
        XCTAssertEqual(accept(&state, id: "m2", turn: "t2"), .accepted(ackSeq: 4))
    }

    func testRefusedAdmissionIsOverloadedAppendsNothingAndLeavesTheIdUnused() {
        var state = SessionState(id: "s", maxEvents: 10, now: 0)
        XCTAssertEqual(accept(&state, id: "m1", turn: "t1") { _ in false }, .overloaded)
        XCTAssertEqual(state.log.lastSeq, 0)
        XCTAssertEqual(state.transcript.entries, [])
        XCTAssertNil(state.activeTurn)

        XCTAssertEqual(accept(&state, id: "m1", turn: "t1b"), .accepted(ackSeq: 1))
        XCTAssertEqual(state.activeTurn?.turn, "t1b")
    }

    func testAppendDeltaReachesOnlyTheActiveTurn() {
        var state = SessionState(id: "s", maxEvents: 10, now: 0)
        XCTAssertFalse(state.appendDelta(turn: "t1", text: "early", now: 1))
        state.startTurn(message: "m1", turn: "t1")
        XCTAssertFalse(state.appendDelta(turn: "t0", text: "stale", now: 1))
        XCTAssertFalse(state.appendDelta(turn: "t1", text: "", now: 1), "an empty delta carries nothing")
        XCTAssertEqual(state.log.lastSeq, 2)
        XCTAssertTrue(state.appendDelta(turn: "t1", text: "ok", now: 7))
        XCTAssertEqual(state.log.event(seq: 3)?.body, .turnDelta(turn: "t1", text: "ok"))
        XCTAssertEqual(state.log.event(seq: 3)?.timestamp, 7)
        state.finishTurn("t1")
        XCTAssertFalse(state.appendDelta(turn: "t1", text: "late", now: 9))
        XCTAssertEqual(state.log.lastSeq, 4)
    }

    func testEndTurnAppendsExactlyOneTurnEnd() throws {
        var state = SessionState(id: "s", maxEvents: 10, now: 0)
        state.startTurn(message: "m1", turn: "t1")
        let error = TurnError.upstreamTimeout("no bytes for 30 s")
        XCTAssertTrue(state.endTurn(turn: "t1", finish: .error, usage: usage, upstreamFinish: "abort", error: error, now: 40))
        XCTAssertNil(state.activeTurn)
        XCTAssertFalse(state.endTurn(turn: "t1", finish: .stop, usage: usage, upstreamFinish: nil, error: nil, now: 41))
        XCTAssertEqual(state.log.lastSeq, 3)
        XCTAssertEqual(countOfTurnEnds(in: state), 1)

        let end = DecodedFrame(try XCTUnwrap(state.log.event(seq: 3)).encoded)
        XCTAssertEqual(end.fields, [
            "type": .string("turn.end"), "session": .string("s"), "seq": .int(3), "turn": .string("t1"),
            "finish": .string("error"),
            "usage": .object(["input_tokens": .int(12), "output_tokens": .int(3), "estimated": .bool(false)]),
            "upstream_finish": .string("abort"),
            "error": .object(["code": .string("upstream_timeout"), "message": .string("no bytes for 30 s")]),
            "ts": .int(40),
        ])
    }

    func testEndingAnotherTurnLeavesTheActiveOneRunning() {
        var state = SessionState(id: "s", maxEvents: 10, now: 0)
        XCTAssertFalse(state.endTurn(turn: "t1", finish: .stop, usage: usage, upstreamFinish: nil, error: nil, now: 1))
        state.startTurn(message: "m1", turn: "t1")
        XCTAssertFalse(state.endTurn(turn: "t0", finish: .cancelled, usage: usage, upstreamFinish: nil, error: nil, now: 1))
        XCTAssertEqual(state.activeTurn?.turn, "t1")
        XCTAssertEqual(state.log.lastSeq, 2)
        XCTAssertEqual(countOfTurnEnds(in: state), 0)
    }

    func testEveryFinishEndsTheTurnAndIsRecordedInTheTranscript() {
        for finish in [TurnFinish.stop, .length, .cancelled, .error] {
            var state = SessionState(id: "s", maxEvents: 10, now: 0)
            state.startTurn(message: "m1", turn: "t1")
            state.finishTurn("t1", finish: finish)
            XCTAssertNil(state.activeTurn, "\(finish)")
            XCTAssertEqual(state.transcript.entries.last?.finish, finish)
            XCTAssertEqual(state.transcript.entries.last?.streaming, false)
        }
    }

    func testRelayedTextIsWhatTheTurnStreamedSoFar() {
        var state = SessionState(id: "s", maxEvents: 10, now: 0)
        state.startTurn(message: "m1", turn: "t1")
        XCTAssertEqual(state.relayedText(ofTurn: "t1"), "")
        state.appendDelta(turn: "t1", text: "Hello, ", now: 1)
        state.appendDelta(turn: "t1", text: "wörld", now: 2)
        XCTAssertEqual(state.relayedText(ofTurn: "t1"), "Hello, wörld")
        state.finishTurn("t1", finish: .cancelled)
        XCTAssertEqual(state.relayedText(ofTurn: "t1"), "Hello, wörld")
        XCTAssertEqual(state.relayedText(ofTurn: "unknown"), "")
    }

    func testExpiresOnlyWithoutSubscribersOrActiveTurnOnceIdleForTheTTL() {
        var state = SessionState(id: "s", maxEvents: 10, now: 1000)
        XCTAssertFalse(state.isExpired(now: 1999, idleMillis: 1000))
        XCTAssertTrue(state.isExpired(now: 2000, idleMillis: 1000))

        _ = state.join(ConnectionID(1), afterSeq: nil, now: 3000)
        XCTAssertFalse(state.isExpired(now: 9000, idleMillis: 1000), "a subscriber keeps it")
        state.startTurn(message: "m1", turn: "t1", now: 3500)
        state.leave(ConnectionID(1), now: 4000)
        XCTAssertFalse(state.isExpired(now: 9000, idleMillis: 1000), "an active turn keeps it")
        state.finishTurn("t1", now: 6000)
        XCTAssertFalse(state.isExpired(now: 6999, idleMillis: 1000))
        XCTAssertTrue(state.isExpired(now: 7000, idleMillis: 1000))
    }

    func testJoinsLeavesAndAppendsCountAsActivity() {
        var state = SessionState(id: "s", maxEvents: 10, now: 100)
        XCTAssertEqual(state.lastActivity, 100)
        _ = state.join(ConnectionID(1), afterSeq: nil, now: 200)
        XCTAssertEqual(state.lastActivity, 200)
        state.startTurn(message: "m1", turn: "t1", now: 300)
        XCTAssertEqual(state.lastActivity, 300)
        state.appendDelta(turn: "t1", text: "x", now: 400)
        XCTAssertEqual(state.lastActivity, 400)
        state.finishTurn("t1", now: 500)
        XCTAssertEqual(state.lastActivity, 500)
        state.leave(ConnectionID(1), now: 600)
        XCTAssertEqual(state.lastActivity, 600)
    }

    // MARK: - How long message ids are remembered

    private static let tenMinutes = SessionState.messageIDRetentionMillis

    /// Seven finished turns at t=0 (seqs 1...21, message `mK` at 3K-2) in a log of seven events, then
    /// `m8` at `now`: eight ids outgrow the log, which is when old ones may be forgotten. The log
    /// then holds seqs 17...23 (18...24 once `t8` ends), so of the earlier messages only `m7` (seq 19)
    /// is still in it.
    private func eightMessagesInASevenEventLog(lastAt now: Int) -> SessionState {
        var state = SessionState(id: "s", maxEvents: 7, now: 0)
        for k in 1...7 {
            state.startTurn(message: "m\(k)", turn: "t\(k)", now: 0)
            state.finishTurn("t\(k)", now: 0)
        }
        state.startTurn(message: "m8", turn: "t8", now: now)
        state.finishTurn("t8", now: now)
        XCTAssertEqual(state.log.firstRetainedSeq, 18)
        return state
    }

    func testIdsTrimmedFromTheLogAreRememberedForTenMinutes() {
        var state = eightMessagesInASevenEventLog(lastAt: Self.tenMinutes - 1)
        XCTAssertEqual(accept(&state, id: "m1", turn: "again", now: Self.tenMinutes - 1), .duplicate(ackSeq: 1))
        XCTAssertEqual(accept(&state, id: "m6", turn: "again", now: Self.tenMinutes - 1), .duplicate(ackSeq: 16))
    }

    func testIdsTrimmedFromTheLogAreForgottenAfterTenMinutes() {
        var state = eightMessagesInASevenEventLog(lastAt: Self.tenMinutes)
        XCTAssertEqual(accept(&state, id: "m1", turn: "again", now: Self.tenMinutes), .accepted(ackSeq: 25))
    }

    func testIdsStillInTheLogAreRememberedPastTenMinutes() {
        var state = eightMessagesInASevenEventLog(lastAt: 2 * Self.tenMinutes)
        XCTAssertEqual(accept(&state, id: "m7", turn: "again", now: 2 * Self.tenMinutes), .duplicate(ackSeq: 19))
        XCTAssertEqual(accept(&state, id: "m8", turn: "again", now: 2 * Self.tenMinutes), .duplicate(ackSeq: 22))
    }
}
