import XCTest
@testable import GatewayCore

/// `MemorySessionStore`: the fanout each mutation hands the delivery sink (wake the subscribers, or
/// name those whose lag passed the outbound cap as slow consumers), per-session isolation, and idle
/// expiry on an injected clock. The memory store answers every completion inline.
final class MemorySessionStoreTests: XCTestCase {
    private let alice = ConnectionID(1)
    private let bob = ConnectionID(2)
    private let clock = ManualClock()
    private let usage = TokenUsage(inputTokens: 1, outputTokens: 1, estimated: true)

    private let delivered = Delivered()

    /// A completion's answer; set inline on the test's thread, since the memory store answers at once.
    private final class Answer<Value>: @unchecked Sendable {
        var value: Value?
    }

    private final class Delivered: @unchecked Sendable {
        // Written by the store's sink, which the memory store calls inline on the test's thread.
        var last: Fanout?
        func take() -> Fanout { defer { last = nil }; return last ?? .none }
    }

    private func makeStore(maxEvents: Int = 100, idleTTLMillis: Int = 60_000, outboundCapBytes: Int = 1 << 20) -> MemorySessionStore {
        let store = MemorySessionStore(settings: .init(maxEvents: maxEvents, maxTranscriptEntries: 100, idleTTLMillis: idleTTLMillis,
                                                       outboundCapBytes: outboundCapBytes),
                                       clock: clock.reading)
        store.setDelivery { [delivered] in delivered.last = $0 }
        return store
    }

    private func join(_ store: MemorySessionStore, _ session: String, _ connection: ConnectionID, afterSeq: Int? = nil) -> SessionState.JoinOutcome? {
        let outcome = Answer<SessionState.JoinOutcome>()
        store.join(session: session, connection: connection, afterSeq: afterSeq) { outcome.value = try? $0.get() }
        return outcome.value
    }

    private func accept(_ store: MemorySessionStore, session: String = "s", id: String, turn: String,
                        admit: @escaping @Sendable ([ChatMessage]) -> Bool = { _ in true }) -> (SessionState.MessageOutcome?, Fanout) {
        let outcome = Answer<SessionState.MessageOutcome>()
        _ = delivered.take()
        store.acceptMessage(session: session, id: id, author: "guest-1", text: "hi", turn: turn,
                            historyLimit: 40, admit: { admit($0) ? TurnAdmission(model: "demo") : nil }) { outcome.value = try? $0.get() }
        return (outcome.value, delivered.take())
    }

    private func delta(_ store: MemorySessionStore, session: String = "s", turn: String, text: String) -> Fanout {
        _ = delivered.take()
        store.appendDelta(session: session, turn: turn, text: text)
        return delivered.take()
    }

    private func active(_ store: MemorySessionStore, _ session: String) -> SessionState.ActiveTurn? {
        let turn = Answer<SessionState.ActiveTurn>()
        store.activeTurn(session: session) { turn.value = $0 }
        return turn.value
    }

    private func end(_ store: MemorySessionStore, session: String = "s", turn: String) -> (ended: Bool, fanout: Fanout) {
        let wasActive = active(store, session)?.turn == turn
        _ = delivered.take()
        store.endTurn(session: session, turn: turn, finish: .stop, usage: usage, upstreamFinish: nil, error: nil, replyText: "")
        return (wasActive && active(store, session) == nil, delivered.take())
    }

    private func drain(_ store: MemorySessionStore, session: String = "s", _ connection: ConnectionID) -> [DecodedFrame] {
        var frames: [DecodedFrame] = []
        while let frame = store.nextFrame(session: session, connection: connection) { frames.append(DecodedFrame(frame)) }
        return frames
    }

    /// Encoded size of the event the store will append next, so tests can put the cap exactly on a boundary.
    private func size(seq: Int, _ body: SessionEventBody) -> Int {
        SessionEvent(session: "s", seq: seq, timestamp: clock.now, body: body).encoded.count
    }

    func testJoinCreatesTheSessionAndLeaveReportsWhoIsLeft() {
        let store = makeStore()
        XCTAssertEqual(store.sessionCount, 0)
        XCTAssertEqual(join(store, "s", alice), .joined(seq: 0, recovered: false))
        XCTAssertEqual(join(store, "s", bob), .joined(seq: 0, recovered: false))
        XCTAssertEqual(store.sessionCount, 1)
        XCTAssertEqual(store.leave(session: "s", connection: alice), 1)
        XCTAssertNil(store.leave(session: "s", connection: alice), "no longer subscribed")
        XCTAssertEqual(store.leave(session: "s", connection: bob), 0)
        XCTAssertNil(store.leave(session: "other", connection: bob))
        XCTAssertEqual(store.sessionCount, 1, "leaving does not drop the session; expiry does")
    }

    func testUnknownSessionsAreNotCreatedByReadsOrTurnUpdates() {
        let store = makeStore()
        XCTAssertNil(store.nextFrame(session: "s", connection: alice))
        XCTAssertEqual(delta(store, session: "s", turn: "t1", text: "x"), .none)
        XCTAssertEqual(end(store, turn: "t1").ended, false)
        XCTAssertNil(active(store, "s"))
        XCTAssertEqual(store.relayedText(session: "s", turn: "t1"), "")
        XCTAssertEqual(store.sessionCount, 0)
    }

    func testEveryAppendWakesEverySubscriberThatKeepsUp() {
        let store = makeStore()
        _ = join(store, "s", alice)
        _ = join(store, "s", bob)
        let (outcome, accepted) = accept(store, id: "m1", turn: "t1")
        XCTAssertEqual(outcome, .accepted(ackSeq: 1))
        XCTAssertEqual(Set(accepted.wake), [alice, bob])
        XCTAssertEqual(accepted.slowConsumers, [])
        XCTAssertEqual(Set(delta(store, session: "s", turn: "t1", text: "x").wake), [alice, bob])
        let ended = end(store, turn: "t1")
        XCTAssertTrue(ended.ended)
        XCTAssertEqual(Set(ended.fanout.wake), [alice, bob])
        XCTAssertEqual(drain(store, alice).map(\.type), ["message", "turn.start", "turn.delta", "turn.end"])
    }

    func testTheSinkIsCalledAsDirectlyAfterManyDeliveriesAsAfterTheFirst() {
        // The stack depth inside the sink, not a time: a sink wrapped anew on each delivery shows
        // as frames that pile up from one event to the next.
        let store = makeStore()
        let depths = Depths()
        store.setDelivery { _ in depths.values.append(Thread.callStackSymbols.count) }
        _ = join(store, "s", alice)
        _ = accept(store, id: "m1", turn: "t1")
        for _ in 0..<50 { store.appendDelta(session: "s", turn: "t1", text: "x") }
        XCTAssertEqual(depths.values.count, 51)
        XCTAssertEqual(Set(depths.values.dropFirst()).count, 1, "depths \(depths.values.prefix(5))…\(depths.values.suffix(2))")
    }

    private final class Depths: @unchecked Sendable {
        // Written by the sink, which the memory store calls inline on the test's thread.
        var values: [Int] = []
    }

    func testNothingAppendedMeansNobodyToWake() {
        let store = makeStore()
        _ = join(store, "s", alice)
        XCTAssertEqual(accept(store, id: "m0", turn: "t0") { _ in false }.1, .none)
        _ = accept(store, id: "m1", turn: "t1")
        XCTAssertEqual(accept(store, id: "m1", turn: "t2").1, .none, "duplicate")
        XCTAssertEqual(accept(store, id: "m2", turn: "t2").1, .none, "busy")
        XCTAssertEqual(delta(store, session: "s", turn: "t0", text: "x"), .none, "not the active turn")
        XCTAssertEqual(delta(store, session: "s", turn: "t1", text: ""), .none, "empty delta")
        XCTAssertTrue(end(store, turn: "t1").ended)
        XCTAssertEqual(end(store, turn: "t1").ended, false)
        XCTAssertEqual(end(store, turn: "t1").fanout, .none)
    }

    func testASubscriberPastTheOutboundCapIsASlowConsumerWhileOthersAreWoken() {
        // Bob takes nothing, so his lag is every event. The cap counts what is behind the event he
        // would take next (the message): it is exactly his backlog after three events.
        let start = size(seq: 2, .turnStart(turn: "t1", model: "demo"))
        let firstDelta = size(seq: 3, .turnDelta(turn: "t1", text: "0123456789"))
        let store = makeStore(outboundCapBytes: start + firstDelta)
        _ = join(store, "s", alice)
        _ = join(store, "s", bob)

        XCTAssertEqual(Set(accept(store, id: "m1", turn: "t1").1.wake), [alice, bob])
        _ = drain(store, alice)
        let atTheCap = delta(store, session: "s", turn: "t1", text: "0123456789")
        XCTAssertEqual(Set(atTheCap.wake), [alice, bob], "a lag equal to the cap is still allowed")
        XCTAssertEqual(atTheCap.slowConsumers, [])
        _ = drain(store, alice)

        let pastTheCap = delta(store, session: "s", turn: "t1", text: "x")
        XCTAssertEqual(pastTheCap.wake, [alice])
        XCTAssertEqual(pastTheCap.slowConsumers, [bob])
        _ = drain(store, alice)
        let stillPast = end(store, turn: "t1").fanout
        XCTAssertEqual(stillPast, Fanout(wake: [alice], slowConsumers: [bob]))
    }

    func testASlowConsumerThatCatchesUpIsWokenAgain() {
        let store = makeStore(outboundCapBytes: 400)
        _ = join(store, "s", bob)
        _ = accept(store, id: "m1", turn: "t1")
        var fanout = Fanout.none
        while fanout.slowConsumers.isEmpty { fanout = delta(store, session: "s", turn: "t1", text: "0123456789") }
        XCTAssertEqual(fanout, Fanout(wake: [], slowConsumers: [bob]))
        let frames = drain(store, bob)
        XCTAssertEqual(frames.map(\.type), ["message", "turn.start", "turn.delta"], "the waiting deltas come merged")
        XCTAssertEqual(frames.last?.fromSeq, 3)
        XCTAssertEqual(end(store, turn: "t1").fanout, Fanout(wake: [bob]))
    }

    func testSessionsAreIsolated() {
        let store = makeStore()
        _ = join(store, "a", alice)
        _ = join(store, "b", bob)
        XCTAssertEqual(accept(store, session: "a", id: "m1", turn: "t1").1.wake, [alice])
        XCTAssertEqual(accept(store, session: "b", id: "m1", turn: "t1").0, .accepted(ackSeq: 1), "ids are per session")
        XCTAssertEqual(delta(store, session: "a", turn: "t1", text: "for a"), Fanout(wake: [alice]))
        XCTAssertEqual(drain(store, session: "b", bob).map(\.seq), [1, 2])
        XCTAssertNil(store.nextFrame(session: "b", connection: alice), "alice never joined b")
        XCTAssertEqual(store.relayedText(session: "a", turn: "t1"), "for a")
        XCTAssertEqual(store.relayedText(session: "b", turn: "t1"), "")
    }

    func testActiveTurnIsReportedUntilItEnds() {
        let store = makeStore()
        _ = accept(store, id: "m1", turn: "t1")
        XCTAssertEqual(active(store, "s"), SessionState.ActiveTurn(turn: "t1", messageID: "m1", model: "demo"))
        _ = end(store, turn: "t1")
        XCTAssertNil(active(store, "s"))
    }

    func testEventsAreStampedWithTheInjectedClock() {
        let store = makeStore()
        _ = join(store, "s", alice)
        let start = clock.now
        _ = accept(store, id: "m1", turn: "t1")
        clock.advance(by: 250)
        _ = delta(store, session: "s", turn: "t1", text: "x")
        XCTAssertEqual(drain(store, alice).map { $0.int("ts") }, [start, start, start + 250])
    }

    func testIdleSessionsExpireOnceTheTTLHasPassed() {
        let store = makeStore(idleTTLMillis: 1000)
        _ = join(store, "s", alice)
        _ = accept(store, id: "m1", turn: "t1")
        _ = end(store, turn: "t1")
        _ = store.leave(session: "s", connection: alice)
        clock.advance(by: 999)
        XCTAssertEqual(store.expireIdleSessions(), 0)
        XCTAssertEqual(store.sessionCount, 1)
        clock.advance(by: 1)
        XCTAssertEqual(store.expireIdleSessions(), 1)
        XCTAssertEqual(store.sessionCount, 0)
        XCTAssertEqual(join(store, "s", alice, afterSeq: 4), .joined(seq: 0, recovered: false),
                       "an expired session starts again empty")
        XCTAssertEqual(accept(store, id: "m1", turn: "t2").0, .accepted(ackSeq: 1), "and remembers no ids")
    }

    func testOnlySessionsWithoutSubscribersOrActiveTurnsExpire() {
        let store = makeStore(idleTTLMillis: 1000)
        _ = join(store, "watched", alice)
        _ = accept(store, session: "streaming", id: "m1", turn: "t1")
        _ = join(store, "idle", bob)
        _ = store.leave(session: "idle", connection: bob)
        clock.advance(by: 10_000)
        XCTAssertEqual(store.expireIdleSessions(), 1)
        XCTAssertEqual(store.sessionCount, 2)
        XCTAssertNotNil(active(store, "streaming"))
        XCTAssertEqual(store.leave(session: "watched", connection: alice), 0)
    }

    func testActivityPostponesExpiry() {
        let store = makeStore(idleTTLMillis: 1000)
        _ = accept(store, id: "m1", turn: "t1")
        clock.advance(by: 5000)
        _ = delta(store, session: "s", turn: "t1", text: "late")
        clock.advance(by: 5000)
        _ = end(store, turn: "t1")
        clock.advance(by: 999)
        XCTAssertEqual(store.expireIdleSessions(), 0, "idle is counted from the turn.end")
        clock.advance(by: 1)
        XCTAssertEqual(store.expireIdleSessions(), 1)
    }
}
