import GatewayTestSupport
import XCTest
@testable import GatewayCore

/// What only `MemorySessionStore` does: it holds every session (not just those joined here), keeps
/// the relayed text itself, stamps events with an injected clock, and expires idle sessions. What
/// every store does (fan-out, slow consumers, admission, the join rules) is in GatewayClusterTests'
/// `SessionStoreBehaviour`, run against this store and the Redis one. Completions run inline here.
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

    func testTextRelayedInATurnIsKeptPerSession() {
        let store = makeStore()
        _ = accept(store, session: "a", id: "m1", turn: "t1")
        _ = accept(store, session: "b", id: "m1", turn: "t1")
        _ = delta(store, session: "a", turn: "t1", text: "for a")
        XCTAssertEqual(store.relayedText(session: "a", turn: "t1"), "for a")
        XCTAssertEqual(store.relayedText(session: "b", turn: "t1"), "")
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
