import GatewayCore
import Synchronization
import XCTest

/// What every `SessionStore` must do, written once against the protocol and run by
/// `MemorySessionStoreBehaviourTests` and `RedisSessionStoreBehaviourTests` (XCTest on Linux does
/// not run inherited test methods, so each of those names every behaviour in one line).
///
/// Fan-out and admission here; the resume rules in `SessionStoreBehaviour+Resume.swift`.
struct SessionStoreBehaviour {
    let backend: StoreBackend
    let alice = ConnectionID(1)
    let bob = ConnectionID(2)
    let watcher = ConnectionID(99)

    /// Encoded size of an event, to put the outbound cap on a boundary. Every store stamps a 13-digit ts.
    func size(seq: Int, _ body: SessionEventBody) -> Int {
        SessionEvent(session: "s", seq: seq, timestamp: 1_700_000_000_000, body: body).encoded.count
    }

    func joinAndLeave() throws {
        let store = try backend.makeDriver()
        XCTAssertEqual(try store.joined("s", alice), .joined(seq: 0, recovered: false))
        XCTAssertEqual(try store.joined("s", bob), .joined(seq: 0, recovered: false))
        XCTAssertEqual(store.store.leave(session: "s", connection: alice), 1)
        XCTAssertNil(store.store.leave(session: "s", connection: alice), "no longer subscribed")
        XCTAssertEqual(store.store.leave(session: "s", connection: bob), 0)
        XCTAssertNil(store.store.leave(session: "other", connection: bob))
        XCTAssertNil(store.store.nextFrame(session: "other", connection: bob))
    }

    func appendsToATurnThatIsNotActiveAreDropped() throws {
        let store = try backend.makeDriver()
        store.delta(turn: "t0", text: "never")
        store.end(turn: "t0")
        XCTAssertNil(try store.active())
        XCTAssertEqual(try store.accepted(id: "m1", turn: "t1"), 1, "nothing was appended before")
        store.delta(turn: "t0", text: "not the active turn")
        store.delta(turn: "t1", text: "")
        store.delta(turn: "t1", text: "kept")
        store.end(turn: "t1")
        store.end(turn: "t1")
        store.delta(turn: "t1", text: "after the end")
        XCTAssertEqual(try store.accepted(id: "m2", turn: "t2"), 5)
        _ = try store.joined("s", alice)
        let frames = try store.frames(alice, through: 6)
        XCTAssertEqual(frames.map(\.type), ["message", "turn.start", "turn.delta", "turn.end", "message", "turn.start"])
        XCTAssertEqual(frames[2].text, "kept")
    }

    func everyAppendWakesEverySubscriberThatKeepsUp() throws {
        let store = try backend.makeDriver()
        _ = try store.joined("s", alice)
        _ = try store.joined("s", bob)
        var mark = store.mark
        XCTAssertEqual(try store.accepted(id: "m1", turn: "t1"), 1)
        let accepted = try store.fanout(since: mark, count: backend.fanouts(forEvents: 2))
        XCTAssertEqual(Set(accepted.wake), [alice, bob])
        XCTAssertEqual(accepted.slowConsumers, [])
        mark = store.mark
        store.delta(turn: "t1", text: "x")
        XCTAssertEqual(Set(try store.fanout(since: mark, count: 1).wake), [alice, bob])
        mark = store.mark
        store.end(turn: "t1")
        let ended = try store.fanout(since: mark, count: 1)
        XCTAssertEqual(Set(ended.wake), [alice, bob])
        XCTAssertEqual(ended.slowConsumers, [])
        XCTAssertEqual(try store.frames(alice, through: 4).map(\.type), ["message", "turn.start", "turn.delta", "turn.end"])
        XCTAssertNil(try store.active())
    }

    func theSinkIsCalledAsDirectlyAfterManyDeliveriesAsAfterTheFirst() throws {
        // The stack depth inside the sink, not a time: a sink wrapped anew on each delivery shows as
        // frames that pile up from one event to the next.
        let store = try backend.makeDriver()
        _ = try store.joined("s", alice)
        let mark = store.mark
        _ = try store.accepted(id: "m1", turn: "t1")
        for _ in 0..<50 { store.delta(turn: "t1", text: "x") }
        _ = try store.fanout(since: mark, count: backend.fanouts(forEvents: 2) + 50)
        let depths = store.sinkDepths.all.dropFirst(mark)
        XCTAssertEqual(Set(depths.dropFirst()).count, 1, "depths \(depths.prefix(5))…\(depths.suffix(2))")
    }

    func refusedMessagesAppendNothing() throws {
        let store = try backend.makeDriver()
        _ = try store.joined("s", alice)
        XCTAssertEqual(try store.accept(id: "m0", turn: "t0") { _ in false }.get(), .overloaded)
        XCTAssertEqual(try store.accept(id: "m1", turn: "t1").get(), .accepted(ackSeq: 1), "a refused id stays unused")
        XCTAssertEqual(try store.accept(id: "m1", turn: "t2").get(), .duplicate(ackSeq: 1))
        XCTAssertEqual(try store.accept(id: "m2", turn: "t2").get(), .busy)
        store.end(turn: "t1")
        XCTAssertEqual(try store.accept(id: "m1", turn: "t3").get(), .duplicate(ackSeq: 1), "also once the turn ended")
        XCTAssertEqual(try store.accept(id: "m0", turn: "t3").get(), .accepted(ackSeq: 4))
        let frames = try store.frames(alice, through: 5)
        XCTAssertEqual(frames.map(\.seq), [1, 2, 3, 4, 5])
        XCTAssertEqual(frames.map(\.type), ["message", "turn.start", "turn.end", "message", "turn.start"])
        XCTAssertEqual(frames[3].string("id"), "m0")
        XCTAssertEqual(try store.active(), SessionState.ActiveTurn(turn: "t3", messageID: "m0", model: "demo"))
    }

    func aSubscriberPastTheOutboundCapIsASlowConsumerWhileOthersAreWoken() throws {
        // Bob takes nothing, so his lag is every event. The cap counts what is behind the event he
        // would take next (the message): it is exactly his backlog after three events.
        let start = size(seq: 2, .turnStart(turn: "t1", model: "demo"))
        let firstDelta = size(seq: 3, .turnDelta(turn: "t1", text: "0123456789"))
        let store = try backend.makeDriver(outboundCapBytes: start + firstDelta)
        _ = try store.joined("s", alice)
        _ = try store.joined("s", bob)
        var mark = store.mark
        _ = try store.accepted(id: "m1", turn: "t1")
        XCTAssertEqual(Set(try store.fanout(since: mark, count: backend.fanouts(forEvents: 2)).wake), [alice, bob])
        _ = try store.frames(alice, through: 2)
        mark = store.mark
        store.delta(turn: "t1", text: "0123456789")
        let atTheCap = try store.fanout(since: mark, count: 1)
        XCTAssertEqual(Set(atTheCap.wake), [alice, bob], "a lag equal to the cap is still allowed")
        XCTAssertEqual(atTheCap.slowConsumers, [])
        _ = try store.frames(alice, through: 3)
        mark = store.mark
        store.delta(turn: "t1", text: "x")
        XCTAssertEqual(try store.fanout(since: mark, count: 1), Fanout(wake: [alice], slowConsumers: [bob]))
        _ = try store.frames(alice, through: 4)
        mark = store.mark
        store.end(turn: "t1")
        XCTAssertEqual(try store.fanout(since: mark, count: 1), Fanout(wake: [alice], slowConsumers: [bob]))
    }

    func aSlowConsumerThatCatchesUpIsWokenAgain() throws {
        let store = try backend.makeDriver(outboundCapBytes: 400)
        _ = try store.joined("s", bob)
        var mark = store.mark
        _ = try store.accepted(id: "m1", turn: "t1")
        _ = try store.fanout(since: mark, count: backend.fanouts(forEvents: 2))
        var fanout = Fanout.none
        var deltas = 0
        while fanout.slowConsumers.isEmpty {
            mark = store.mark
            store.delta(turn: "t1", text: "0123456789")
            deltas += 1
            fanout = try store.fanout(since: mark, count: 1)
        }
        XCTAssertEqual(fanout, Fanout(wake: [], slowConsumers: [bob]))
        let frames = try store.frames(bob, through: 2 + deltas)
        XCTAssertEqual(frames.map(\.type), ["message", "turn.start", "turn.delta"], "the waiting deltas come merged")
        XCTAssertEqual(frames.last?.fromSeq, 3)
        XCTAssertEqual(frames.last?.text, String(repeating: "0123456789", count: deltas))
        mark = store.mark
        store.end(turn: "t1")
        XCTAssertEqual(try store.fanout(since: mark, count: 1), Fanout(wake: [bob]))
    }

    func sessionsAreIsolated() throws {
        let store = try backend.makeDriver()
        _ = try store.joined("a", alice)
        _ = try store.joined("b", bob)
        var mark = store.mark
        XCTAssertEqual(try store.accepted("a", id: "m1", turn: "t1"), 1)
        XCTAssertEqual(try store.fanout(since: mark, count: backend.fanouts(forEvents: 2)).wake, [alice])
        mark = store.mark
        XCTAssertEqual(try store.accept("b", id: "m1", turn: "t1").get(), .accepted(ackSeq: 1), "ids are per session")
        XCTAssertEqual(try store.fanout(since: mark, count: backend.fanouts(forEvents: 2)).wake, [bob])
        mark = store.mark
        store.delta("a", turn: "t1", text: "for a")
        XCTAssertEqual(Set(try store.fanout(since: mark, count: 1).wake), [alice], "a's delta wakes alice alone")
        XCTAssertEqual(try store.frames("b", bob, through: 2).map(\.seq), [1, 2])
        XCTAssertEqual(try store.frames("a", alice, through: 3).last?.text, "for a")
        XCTAssertNil(store.store.nextFrame(session: "b", connection: alice), "alice never joined b")
        XCTAssertEqual(try store.active("a")?.turn, "t1")
        XCTAssertEqual(try store.active("b")?.turn, "t1")
    }

    func activeTurnIsReportedUntilItEnds() throws {
        let store = try backend.makeDriver()
        _ = try store.accepted(id: "m1", turn: "t1")
        XCTAssertEqual(try store.active(), SessionState.ActiveTurn(turn: "t1", messageID: "m1", model: "demo"))
        store.end(turn: "t1")
        try backend.waitUntilLogged(store, session: "s", seq: 3)
        XCTAssertNil(try store.active())
    }

    func admitIsGivenTheFinishedHistory() throws {
        let store = try backend.makeDriver()
        _ = try store.accepted(id: "m1", turn: "t1", text: "question 1")
        store.delta(turn: "t1", text: "answer 1")
        store.end(turn: "t1", replyText: "answer 1")
        _ = try store.accept(id: "m2", turn: "t2", text: "question 2").get()
        store.end(turn: "t2", finish: .error, replyText: "", error: TurnError(code: "upstream_http", message: "503"))
        let seen = HistoryBox()
        let third = try store.accept(id: "m3", turn: "t3", text: "question 3", historyLimit: 40) { seen.all = $0; return true }
        XCTAssertEqual(try third.get(), .accepted(ackSeq: 8))
        XCTAssertEqual(seen.all, [ChatMessage(role: .user, content: "question 1"), ChatMessage(role: .assistant, content: "answer 1"),
                                  ChatMessage(role: .user, content: "question 2")], "the empty reply is left out")
        store.end(turn: "t3", replyText: "")
        _ = try store.accept(id: "m4", turn: "t4", text: "question 4", historyLimit: 2) { seen.all = $0; return true }
        XCTAssertEqual(seen.all, [ChatMessage(role: .user, content: "question 2"), ChatMessage(role: .user, content: "question 3")])
    }
}

/// What `admit` was last given (on the store's thread).
final class HistoryBox: Sendable {
    private let value = Mutex<[ChatMessage]>([])
    var all: [ChatMessage] {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
