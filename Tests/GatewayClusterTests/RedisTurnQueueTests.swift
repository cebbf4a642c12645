import Foundation
import GatewayCluster
import GatewayCore
import GatewayRedis
import RedisTestSupport
import XCTest

/// `RedisTurnQueue` against a real redis-server: claims, leases, the reaper's retry-once and
/// worker_lost decisions, dead consumers' pending entries, and stop relays. The session store's
/// part (the accept script that queues a turn, the end script that releases it) is played here
/// by plain commands writing the same keys.
final class RedisTurnQueueTests: XCTestCase {
    private var server: RedisTestServer!
    private var commands: RedisClient!
    private var queues: [RedisTurnQueue] = []
    private let keys = ClusterKeys(prefix: "qt")

    override func setUpWithError() throws {
        server = try RedisTestServer()
        commands = try RedisClient(url: server.url)
    }

    override func tearDown() {
        queues.forEach { $0.shutdown() }
        commands?.shutdown()
        server?.stop()
    }

    private final class Events: @unchecked Sendable {
        // Guarded by `lock`: handlers run on the queue's Redis threads.
        private let lock = NSLock()
        private var claimed: [(QueuedTurn, Bool)] = []
        private var stops: [String] = []
        private var lost: [(String, String)] = []
        private var leases: [String] = []
        var slots = 4

        func claim(_ job: [UInt8], _ retry: Bool) { lock.withLock { claimed.append((try! QueuedTurn.decode(job), retry)) } }
        func stop(_ turn: String) { lock.withLock { stops.append(turn) } }
        func lose(_ session: String, _ turn: String) { lock.withLock { lost.append((session, turn)) } }
        func loseLease(_ turn: String) { lock.withLock { leases.append(turn) } }
        var lostLeases: [String] { lock.withLock { leases } }
        var claims: [(QueuedTurn, Bool)] { lock.withLock { claimed } }
        var stopped: [String] { lock.withLock { stops } }
        var lostTurns: [(String, String)] { lock.withLock { lost } }
        var freeSlots: Int { lock.withLock { slots } }
    }

    private func makeQueue(node: String, leaseMillis: Int = 600, events: Events) throws -> RedisTurnQueue {
        var settings = RedisTurnQueue.Settings(keys: keys, nodeID: node, leaseMillis: leaseMillis)
        settings.blockMillis = 200
        settings.reapIntervalMillis = 100
        let queue = RedisTurnQueue(commands: commands, endpoint: try RedisEndpoint(url: server.url), settings: settings)
        queues.append(queue)
        queue.start(TurnQueueHandlers(freeSlots: { events.freeSlots }, claimed: { events.claim($0, $1) },
                                      stopRequested: { events.stop($0) }, leaseLost: { events.loseLease($0) },
                                      lost: { events.lose($0, $1) }))
        return queue
    }

    /// What the session store's accept script leaves behind for a queued turn.
    private func enqueue(session: String, turn: String) throws {
        let job = QueuedTurn(session: session, turn: turn, model: "demo", messages: [ChatMessage(role: .user, content: "hi")],
                             user: "ann", tenant: "default", queuedAt: 1).encode()
        _ = try server.cli(["HSET", keys.sessionMeta(session), "turn", turn, "streamed", "0"])
        _ = try server.cli(["HSET", keys.turn(turn), "session", session, "job", String(decoding: job, as: UTF8.self)])
        _ = try server.cli(["XADD", keys.turnQueue, "*", "turn", turn, "session", session])
    }

    private func waitUntil(_ what: String, timeout: TimeInterval = 5, _ condition: () throws -> Bool) rethrows {
        let deadline = Date().addingTimeInterval(timeout)
        while try !condition() {
            if Date() > deadline { return XCTFail("timed out waiting until \(what)") }
            usleep(5_000)
        }
    }

    func testAQueuedTurnIsClaimedOnceWithALeaseAndLeavesTheQueue() throws {
        let a = Events(), b = Events()
        _ = try makeQueue(node: "a", events: a)
        _ = try makeQueue(node: "b", events: b)
        try enqueue(session: "s1", turn: "t1")
        try waitUntil("claimed") { a.claims.count + b.claims.count == 1 }
        usleep(300_000)
        XCTAssertEqual(a.claims.count + b.claims.count, 1, "exactly one node claims a turn")
        let claim = (a.claims + b.claims)[0]
        XCTAssertEqual(claim.0.turn, "t1")
        XCTAssertFalse(claim.1)
        XCTAssertEqual(try server.cli(["XLEN", keys.turnQueue]), "0")
        XCTAssertNotEqual(try server.cli(["ZSCORE", keys.leases, "t1"]), "")
        XCTAssertEqual(try server.cli(["HGET", keys.turn("t1"), "owner"]), a.claims.isEmpty ? "b" : "a")
    }

    func testNoClaimsWithoutFreeSlotsAndClaimsOnceSlotsFree() throws {
        let events = Events()
        events.slots = 0
        let queue = try makeQueue(node: "a", events: events)
        try enqueue(session: "s1", turn: "t1")
        usleep(400_000)
        XCTAssertTrue(events.claims.isEmpty)
        events.slots = 1
        queue.capacityChanged()
        try waitUntil("claimed") { events.claims.count == 1 }
    }

    func testALeaseThatRunsOutBeforeAnyTokenIsRetriedOnceThenLost() throws {
        let a = Events()
        let first = try makeQueue(node: "a", events: a)
        try enqueue(session: "s1", turn: "t1")
        try waitUntil("claimed by a") { a.claims.count == 1 }
        first.shutdown()  // node a "dies": no more renewals
        let b = Events()
        _ = try makeQueue(node: "b", events: b)
        try waitUntil("retried on b") { b.claims.count == 1 }
        XCTAssertTrue(b.claims[0].1, "marked as a retry")
        XCTAssertTrue(b.lostTurns.isEmpty)
    }

    func testALeaseThatRunsOutAfterTokensIsReportedLost() throws {
        let a = Events()
        let first = try makeQueue(node: "a", events: a)
        try enqueue(session: "s1", turn: "t1")
        try waitUntil("claimed by a") { a.claims.count == 1 }
        _ = try server.cli(["HSET", keys.sessionMeta("s1"), "streamed", "1"])
        first.shutdown()
        let b = Events()
        _ = try makeQueue(node: "b", events: b)
        try waitUntil("reported lost") { !b.lostTurns.isEmpty }
        XCTAssertEqual(b.lostTurns[0].0, "s1")
        XCTAssertEqual(b.lostTurns[0].1, "t1")
        XCTAssertTrue(b.claims.isEmpty, "a turn that streamed is not run again")
    }

    func testRenewalKeepsTheLeaseAndAnEndedTurnIsNotReaped() throws {
        let a = Events()
        _ = try makeQueue(node: "a", leaseMillis: 300, events: a)
        try enqueue(session: "s1", turn: "t1")
        try waitUntil("claimed") { a.claims.count == 1 }
        usleep(1_000_000)  // more than three leases
        XCTAssertTrue(a.lostTurns.isEmpty)
        XCTAssertTrue(a.stopped.isEmpty)
        XCTAssertEqual(a.claims.count, 1, "never re-queued while renewed")
    }

    func testALeaseTheReaperTookOverIsReportedLostAndAGoneTurnAsAStop() throws {
        let a = Events()
        _ = try makeQueue(node: "a", leaseMillis: 300, events: a)
        try enqueue(session: "s1", turn: "t1")
        try enqueue(session: "s2", turn: "t2")
        try waitUntil("both claimed") { a.claims.count == 2 }
        // t1: what the reaper leaves when a lease ran out before any token (re-queued for a retry).
        // Nobody consumes the queue here once a has no slots.
        a.slots = 0
        _ = try server.cli(["ZREM", keys.leases, "t1"])
        _ = try server.cli(["HSET", keys.turn("t1"), "retried", "1"])
        _ = try server.cli(["HDEL", keys.turn("t1"), "owner"])
        // t2: its turn hash is gone (the turn ended elsewhere, or Redis lost it).
        _ = try server.cli(["DEL", keys.turn("t2")])
        try waitUntil("both noticed") { !a.lostLeases.isEmpty && !a.stopped.isEmpty }
        XCTAssertEqual(a.lostLeases, ["t1"], "a taken-over lease is the new owner's turn: not stopped here")
        XCTAssertEqual(a.stopped, ["t2"])
    }

    func testStopReachesTheOwningNode() throws {
        let a = Events(), b = Events()
        b.slots = 0
        _ = try makeQueue(node: "a", events: a)
        let onB = try makeQueue(node: "b", events: b)
        try enqueue(session: "s1", turn: "t1")
        try waitUntil("claimed by a") { a.claims.count == 1 }
        let outcome = Outcome()
        onB.stop(session: "s1") { outcome.set($0) }
        try waitUntil("stop relayed") { a.stopped == ["t1"] }
        XCTAssertEqual(outcome.value, .relayed(turn: "t1", owner: "a"))
    }

    func testAStopBeforeAnyClaimMarksTheTurnSoNoWorkerRunsIt() throws {
        let a = Events()
        a.slots = 0
        let queue = try makeQueue(node: "a", events: a)
        try enqueue(session: "s1", turn: "t1")
        let outcome = Outcome()
        queue.stop(session: "s1") { outcome.set($0) }
        try waitUntil("answered") { outcome.value != nil }
        XCTAssertEqual(outcome.value, .unclaimed(turn: "t1"))
        a.slots = 2
        queue.capacityChanged()
        try waitUntil("queue drained") { try server.cli(["XLEN", keys.turnQueue]) == "0" }
        XCTAssertTrue(a.claims.isEmpty)
        XCTAssertNotEqual(try server.cli(["PTTL", keys.turn("t1")]), "-1", "the stop mark expires")
    }

    func testAnEntryReadButNeverClaimedIsQueuedAgain() throws {
        _ = try server.cli(["XGROUP", "CREATE", keys.turnQueue, ClusterKeys.workerGroup, "0", "MKSTREAM"])
        try enqueue(session: "s1", turn: "t1")
        // A consumer reads the entry and dies before its claim script runs.
        _ = try server.cli(["XREADGROUP", "GROUP", ClusterKeys.workerGroup, "dead", "COUNT", "1", "STREAMS", keys.turnQueue, ">"])
        let b = Events()
        _ = try makeQueue(node: "b", leaseMillis: 300, events: b)
        try waitUntil("claimed after the dead consumer's entry idled out") { b.claims.count == 1 }
        XCTAssertFalse(b.claims[0].1)
    }

    func testStopWithoutAnActiveTurnSaysSo() throws {
        let queue = try makeQueue(node: "a", events: Events())
        let outcome = Outcome()
        queue.stop(session: "nothing") { outcome.set($0) }
        try waitUntil("answered") { outcome.value != nil }
        XCTAssertEqual(outcome.value, .noActiveTurn)
    }

    private final class Outcome: @unchecked Sendable {
        // Guarded by `lock`.
        private let lock = NSLock()
        private var stored: TurnStopOutcome?
        func set(_ value: TurnStopOutcome) { lock.withLock { stored = value } }
        var value: TurnStopOutcome? { lock.withLock { stored } }
    }
}
