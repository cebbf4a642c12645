import Foundation
@testable import GatewayCluster
import GatewayCore
import GatewayRedis
import RedisTestSupport
import XCTest

/// What the store leaves in Redis: TTLs on every key of a session, the turn queue's entries and
/// their end, message ids and their pruning.
final class RedisSessionStoreKeysTests: RedisStoreTestCase {
    private let alice = ConnectionID(1)
    private let keys = ClusterKeys()
    private let ttl = 60_000

    private func sessionKeys(_ session: String) -> [String] {
        [keys.sessionSeq(session), keys.sessionLog(session), keys.sessionMeta(session), keys.sessionMessageIDs(session),
         keys.sessionTranscript(session), keys.sessionReply(session)]
    }

    private func ttlMillis(_ key: String) throws -> Int { Int(try cli("PTTL", key).first ?? "") ?? -3 }

    private var settings: RedisSessionStore.Settings {
        var settings = Self.defaultSettings
        settings.idleTTLMillis = ttl
        return settings
    }

    func testEveryKeyButTheQueueAndTheLeasesHasTheIdleTTL() throws {
        let store = StoreDriver(try makeReadyStore(settings))
        _ = try store.accept(id: "m1", turn: "t1", queuedJob: Array("job".utf8)).get()
        store.delta(turn: "t1", text: "Hel")
        store.delta(turn: "t1", text: "lo")
        try waitForSeq(session: "s", atLeast: 4)
        for key in sessionKeys("s") + [keys.turn("t1")] {
            let left = try ttlMillis(key)
            XCTAssertTrue((1...ttl).contains(left), "\(key): \(left)")
        }
        store.end(turn: "t1", replyText: "Hello")
        try waitForSeq(session: "s", atLeast: 5)
        for key in try cli("KEYS", "cg:*") where ![keys.turnQueue, keys.leases].contains(key) {
            let left = try ttlMillis(key)
            XCTAssertTrue((1...ttl).contains(left), "\(key): \(left)")
        }
        XCTAssertEqual(try cli("EXISTS", keys.sessionMeta("s"), keys.sessionReply("s"), keys.turn("t1")), ["0"], "the turn's keys go with it")
    }

    func testADeltaRefreshesTheTTLOnceHalfOfItHasGone() throws {
        let store = StoreDriver(try makeReadyStore(settings))
        _ = try store.accepted(id: "m1", turn: "t1")
        store.delta(turn: "t1", text: "a")
        try waitForSeq(session: "s", atLeast: 3)
        for key in sessionKeys("s") { _ = try cli("PEXPIRE", key, "\(ttl / 2 - 1000)") }
        store.delta(turn: "t1", text: "b")
        try waitForSeq(session: "s", atLeast: 4)
        for key in sessionKeys("s") { XCTAssertGreaterThan(try ttlMillis(key), ttl / 2, key) }
    }

    func testTheSweepKeepsTheSessionsThisNodeMirrorsAlive() throws {
        let store = StoreDriver(try makeReadyStore(settings))
        for session in ["watched", "unwatched"] {
            _ = try store.accepted(session, id: "m1", turn: "t1")
            store.delta(session, turn: "t1", text: "so far")
            try waitForSeq(session: session, atLeast: 3)
            for key in sessionKeys(session) { _ = try cli("PEXPIRE", key, "5000") }
        }
        _ = try store.joined("watched", alice)
        for key in sessionKeys("watched") { _ = try cli("PEXPIRE", key, "5000") }
        XCTAssertEqual(store.store.expireIdleSessions(), 0, "Redis expires sessions by itself")
        let deadline = Date().addingTimeInterval(5)
        while try ttlMillis(keys.sessionSeq("watched")) <= 5000, Date() < deadline { usleep(2_000) }
        for key in sessionKeys("watched") { XCTAssertGreaterThan(try ttlMillis(key), 5000, key) }
        for key in sessionKeys("unwatched") { XCTAssertLessThanOrEqual(try ttlMillis(key), 5000, key) }
    }

    func testAQueuedTurnGoesOnTheClusterQueueWithItsJobAndTheTurnsEndClearsItsBookkeeping() throws {
        let store = StoreDriver(try makeReadyStore(settings))
        let client = try makeClient()
        let job: [UInt8] = [0, 1, 2, 13, 10, 255] + Array("{\"turn\":\"t1\"}".utf8)
        XCTAssertEqual(try store.accept(id: "m1", turn: "t1", queuedJob: job).get(), .accepted(ackSeq: 1))
        let entries = try XCTUnwrap(try command(["XRANGE", RedisArgument(keys.turnQueue), "-", "+"], on: client).array)
        XCTAssertEqual(entries.count, 1)
        XCTAssertEqual(entries[0].array?[1], .array([.bulk("turn"), .bulk("t1"), .bulk("session"), .bulk("s")]))
        XCTAssertEqual(try command(["HGET", RedisArgument(keys.turn("t1")), "job"], on: client), .bulk(job))
        XCTAssertEqual(try command(["HGET", RedisArgument(keys.turn("t1")), "session"], on: client), .bulk("s"))
        let queuedAt = Int(try command(["HGET", RedisArgument(keys.turn("t1")), "queued_at"], on: client).string ?? "") ?? 0
        let redisNow = Int(try cli("TIME").first ?? "0")! * 1000
        XCTAssertTrue((redisNow - 5000...redisNow + 1000).contains(queuedAt), "Redis's clock, in ms: \(queuedAt)")
        _ = try cli("ZADD", keys.leases, "123", "t1")  // the worker pool's lease on it
        store.end(turn: "t1")
        try waitForSeq(session: "s", atLeast: 3)
        XCTAssertEqual(try cli("EXISTS", keys.turn("t1")), ["0"])
        XCTAssertEqual(try cli("ZSCORE", keys.leases, "t1"), [], "no lease left")
        XCTAssertEqual(try cli("XLEN", keys.turnQueue), ["1"], "the queue's entry is the queue's to remove")
    }

    func testAFullClusterQueueRefusesTheMessageWithNothingAppended() throws {
        var limited = settings
        limited.turnQueueLimit = 1
        let store = StoreDriver(try makeReadyStore(limited))
        XCTAssertEqual(try store.accept("a", id: "m1", turn: "t1", queuedJob: [1]).get(), .accepted(ackSeq: 1))
        XCTAssertEqual(try store.accept("b", id: "m1", turn: "t2", queuedJob: [2]).get(), .overloaded)
        XCTAssertEqual(try cli("EXISTS", keys.sessionSeq("b"), keys.sessionMessageIDs("b"), keys.sessionMeta("b"), keys.turn("t2")), ["0"])
        XCTAssertEqual(try store.accept("c", id: "m1", turn: "t3").get(), .accepted(ackSeq: 1),
                       "a turn that does not go through the cluster queue is not held to its limit")
        XCTAssertEqual(try cli("XLEN", keys.turnQueue), ["1"])
    }

    func testMessageIdsAreForgottenOnlyOnceTheLogAndTheRetentionWindowAreBothPast() throws {
        var short = settings
        short.maxEvents = 4
        let store = StoreDriver(try makeReadyStore(short))
        for k in 1...5 {
            _ = try store.accepted(id: "m\(k)", turn: "t\(k)")
            store.end(turn: "t\(k)")
            try waitForSeq(session: "s", atLeast: 3 * k)
        }
        XCTAssertEqual(try store.accept(id: "m1", turn: "x").get(), .duplicate(ackSeq: 1), "inside the retention window")
        // As if m1 and m2 had been accepted long ago (the ids hash keeps "ack accepted_at").
        _ = try cli("HSET", keys.sessionMessageIDs("s"), "m1", "1 0", "m2", "4 0")
        _ = try store.accepted(id: "m6", turn: "t6")
        store.end(turn: "t6")
        try waitForSeq(session: "s", atLeast: 18)
        XCTAssertEqual(try cli("HEXISTS", keys.sessionMessageIDs("s"), "m1"), ["0"])
        XCTAssertEqual(try cli("HEXISTS", keys.sessionMessageIDs("s"), "m2"), ["0"])
        XCTAssertEqual(try store.accept(id: "m3", turn: "x").get(), .duplicate(ackSeq: 7), "recent ids stay")
        XCTAssertEqual(try store.accept(id: "m1", turn: "t7").get(), .accepted(ackSeq: 19), "a forgotten id is new again")
    }

    func testOneScriptCallPerDeltaOnTheAppendingNodeAndOnePubSubMessagePerMirroringNode() throws {
        let writer = StoreDriver(try makeReadyStore(Self.roomy))
        let mirroring = StoreDriver(try makeReadyStore(Self.roomy))
        let elsewhere = StoreDriver(try makeReadyStore(Self.roomy))
        _ = try writer.joined("s", alice)
        _ = try mirroring.joined("s", alice)
        _ = try elsewhere.joined("other", alice)
        _ = try writer.accepted(id: "m1", turn: "t1")
        _ = try mirroring.frames(alice, through: 2)
        _ = try writer.frames(alice, through: 2)
        let tokens = 500
        let marks = (writer.mark, mirroring.mark, elsewhere.mark)
        XCTAssertEqual(try cli("CONFIG", "RESETSTAT"), ["OK"])
        for piece in 1...tokens { writer.delta(turn: "t1", text: "\(piece) ") }
        _ = try writer.fanout(since: marks.0, count: tokens)
        _ = try mirroring.fanout(since: marks.1, count: tokens)
        let calls = try commandCalls()
        XCTAssertEqual(calls["evalsha"], tokens, "one EVALSHA per token: \(calls)")
        let fromNodes = calls.filter { !["evalsha", "config|resetstat", "info", "ping"].contains($0.key) && !Self.insideScripts.contains($0.key) }
        XCTAssertEqual(fromNodes, [:], "nothing else from any node per token")
        XCTAssertEqual(calls["publish"], tokens)
        XCTAssertEqual(mirroring.fanouts.all.count - marks.1, tokens, "one pub/sub message, one fan-out, per token")
        XCTAssertEqual(elsewhere.fanouts.all.count, marks.2, "a node that mirrors other sessions hears nothing")
        let inside = Self.insideScripts.map { "\($0) \(Double(calls[$0] ?? 0) / Double(tokens))" }.joined(separator: ", ")
        print("ops per token: 1 EVALSHA from the appending node (inside it, per token: \(inside)); "
              + "1 pub/sub message to each mirroring node; 0 to the others")
    }

    /// Commands the delta script runs inside Redis (counted by commandstats, not sent by any node).
    static let insideScripts = ["hmget", "incr", "time", "xadd", "publish", "append", "hset", "pttl", "pexpire"]
}
