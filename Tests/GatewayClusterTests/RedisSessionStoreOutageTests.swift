import Foundation
@testable import GatewayCluster
import GatewayCore
import GatewayRedis
import RedisTestSupport
import XCTest

/// Redis going away under the store: pub/sub links cut, the server restarted (empty: the test
/// server keeps nothing), the script cache flushed, the server down when a request comes.
final class RedisSessionStoreOutageTests: RedisStoreTestCase {
    private let alice = ConnectionID(1)
    private let bob = ConnectionID(2)

    func testEventsPublishedWhilePubSubWasCutReachSubscribersAfterTheResubscription() throws {
        let a = StoreDriver(try makeReadyStore())
        let b = StoreDriver(try makeReadyStore())
        _ = try b.joined("s", bob)
        _ = try a.accepted(id: "m1", turn: "t1")
        _ = try b.frames(bob, through: 2)
        for round in 1...3 {
            // Every pub/sub connection is dropped (both nodes'); commands still go through meanwhile.
            XCTAssertGreaterThanOrEqual(Int(try cli("CLIENT", "KILL", "TYPE", "pubsub").first ?? "") ?? 0, 1)
            for piece in 1...20 { a.delta(turn: "t1", text: "r\(round).\(piece) ") }
            try waitForSeq(session: "s", atLeast: 2 + round * 20)
        }
        a.end(turn: "t1")
        let frames = try b.frames(bob, through: 63)
        var expected = 3
        for frame in frames {
            let covered = try XCTUnwrap(frame.coveredSeqs, "no snapshot: the stream still held everything missed")
            XCTAssertEqual(covered.lowerBound, expected)
            expected = covered.upperBound + 1
        }
        XCTAssertEqual(frames.filter { $0.type == "turn.delta" }.compactMap(\.text).joined(),
                       (1...3).flatMap { round in (1...20).map { "r\(round).\($0) " } }.joined())
    }

    func testARedisRestartMidStreamDropsAppendsWithAWarningAndMirrorsStartAgainFromASnapshot() throws {
        let a = StoreDriver(try makeReadyStore())
        let b = StoreDriver(try makeReadyStore())
        _ = try b.joined("s", bob)
        _ = try a.accepted(id: "m1", turn: "t1")
        for piece in 1...10 { a.delta(turn: "t1", text: "\(piece) ") }
        XCTAssertEqual(try b.frames(bob, through: 12).last?.seq, 12)

        server.kill()
        for piece in 11...20 { a.delta(turn: "t1", text: "\(piece) ") }
        a.end(turn: "t1")
        XCTAssertTrue(warnings.waitUntil { $0.contains { $0.contains("dropped") } }, "\(warnings.all)")
        XCTAssertEqual(try b.join("s", alice, afterSeq: 12), .success(.joined(seq: 12, recovered: true)),
                       "a mirror answers the joins it can while Redis is away")
        try server.start()  // empty: the session is gone

        // The old turn is gone with the data: its worker's last appends are dropped there too.
        a.delta(turn: "t1", text: "late")
        let ack = try retrying { try a.accepted(id: "m2", turn: "t2", text: "after the restart") }
        XCTAssertEqual(ack, 1, "the session starts again")
        a.delta(turn: "t2", text: "fresh")
        a.end(turn: "t2", replyText: "fresh")
        // The mirror's catch-up read may come before or after the new turn's events (it retries on a
        // timer while Redis is away): the snapshot then ends before them, or covers them all.
        let frames = try b.frames("s", bob, until: { ($0.type == "turn.end" && $0.turn == "t2") || ($0.type == "snapshot" && $0.seq == 4) },
                                  what: "the new turn's end")
        let snapshot = try XCTUnwrap(frames.firstIndex { $0.type == "snapshot" }, "\(frames.map(\.description))")
        let after = Array(frames[(snapshot + 1)...])
        let snapshotSeq = try XCTUnwrap(frames[snapshot].seq)
        XCTAssertEqual(after.map(\.seq), Array((snapshotSeq + 1)..<5).map { $0 }, "live events follow the snapshot")
        XCTAssertTrue(frames[..<snapshot].allSatisfy { ($0.seq ?? 0) <= 12 }, "nothing but the snapshot between the sessions")
        XCTAssertEqual(try a.active(), nil)
        XCTAssertEqual(try b.joined("s", alice, afterSeq: 12), .joined(seq: 4, recovered: false), "an old position gets a snapshot")
    }

    /// Redis restarted empty, and the node's pub/sub link is back before its command connection: the
    /// catch-up read fails, and no frame of the lost session will ever come to start another. The
    /// subscriber must still hear that the session is gone (a snapshot) without anything new happening.
    func testAMirrorWhoseCatchUpReadFailedTriesAgainOnItsOwn() throws {
        var slowCommands = Self.clientOptions
        slowCommands.reconnectBackoff = RedisReconnectBackoff(initialDelay: .milliseconds(1500), maximumDelay: .milliseconds(1500))
        let a = StoreDriver(try makeReadyStore())
        let b = StoreDriver(try makeStore(clientOptions: slowCommands))
        _ = try b.joined("s", bob)
        _ = try a.accepted(id: "m1", turn: "t1")
        XCTAssertEqual(try b.frames(bob, through: 2).last?.seq, 2)
        server.kill()
        try server.start()  // empty: the session is gone
        let frames = try b.frames("s", bob, until: { $0.type == "snapshot" }, what: "a snapshot of the lost session")
        XCTAssertEqual(frames.last?.seq, 0)
        XCTAssertEqual(frames.last?.messages.count, 0)
    }

    func testJoinAndMessageFailAsUnavailableWhileRedisIsDown() throws {
        var settings = Self.defaultSettings
        settings.subscribeTimeoutMillis = 300
        let store = StoreDriver(try makeReadyStore(settings))
        server.kill()
        guard case .failure(.unavailable) = try store.join("s", alice) else { return XCTFail("join should fail") }
        guard case .failure(.unavailable) = try store.accept(id: "m1", turn: "t1") else { return XCTFail("message should fail") }
        XCTAssertEqual(store.store.sessionCount, 0, "a join that failed leaves no mirror")
        try server.start()
        let joined = try retrying { try store.joined("s", alice) }
        XCTAssertEqual(joined, .joined(seq: 0, recovered: false))
        XCTAssertEqual(try retrying { try store.accepted(id: "m1", turn: "t1") }, 1, "nothing of the failed message was kept")
        XCTAssertEqual(try store.frames(alice, through: 2).map(\.type), ["message", "turn.start"])
    }

    func testAScriptCacheFlushMidStreamNeitherLosesNorReordersDeltas() throws {
        let a = StoreDriver(try makeReadyStore(Self.roomy))
        let b = StoreDriver(try makeReadyStore(Self.roomy))
        _ = try b.joined("s", bob)
        _ = try a.accepted(id: "m1", turn: "t1")
        // Each flush lands while deltas are in flight, and the next ones certainly find no script.
        for round in 0..<5 {
            for piece in 1...120 { a.delta(turn: "t1", text: "\(round * 120 + piece) ") }
            XCTAssertEqual(try cli("SCRIPT", "FLUSH"), ["OK"])
        }
        a.end(turn: "t1")
        let text = try b.frames(bob, through: 603).filter { $0.type == "turn.delta" }.compactMap(\.text).joined()
        XCTAssertEqual(text, (1...600).map { "\($0) " }.joined())
        let refused = try cli("INFO", "errorstats").first { $0.hasPrefix("errorstat_NOSCRIPT:count=") }
        XCTAssertGreaterThanOrEqual(Int(refused?.split(separator: "=").last ?? "") ?? 0, 5, "every flush made appends bounce")
        XCTAssertEqual(warnings.all, [])
    }

    func testDeltasSentBeforeANewNodesScriptsAreLoadedWaitForThemAndKeepTheirOrder() throws {
        let first = StoreDriver(try makeReadyStore(Self.roomy))
        _ = try first.joined("s", bob)
        _ = try first.accepted(id: "m1", turn: "t1")
        let fresh = StoreDriver(try makeStore(Self.roomy))  // its SCRIPT LOADs are still on their way
        for piece in 1...300 { fresh.delta(turn: "t1", text: "\(piece) ") }
        fresh.end(turn: "t1")
        let text = try first.frames(bob, through: 303).filter { $0.type == "turn.delta" }.compactMap(\.text).joined()
        XCTAssertEqual(text, (1...300).map { "\($0) " }.joined())
    }

    func testJoiningAndLeavingInQuickSuccessionEndsSubscribedAndLive() throws {
        let a = StoreDriver(try makeReadyStore())
        let b = StoreDriver(try makeReadyStore())
        for round in 1...50 {
            _ = try b.joined("s", ConnectionID(UInt64(round)))
            XCTAssertEqual(b.store.leave(session: "s", connection: ConnectionID(UInt64(round))), 0)
        }
        _ = try b.joined("s", bob)
        _ = try a.accepted(id: "m1", turn: "t1")
        XCTAssertEqual(try b.frames(bob, through: 2).map(\.seq), [1, 2])
        XCTAssertEqual(try cli("PUBSUB", "NUMSUB", ClusterKeys().sessionChannel("s")).last, "1", "one subscription left: b's")
        XCTAssertEqual(b.store.sessionCount, 1)
    }

    /// Redis may still be starting or the clients reconnecting: retries what fails as unavailable.
    private func retrying<Value>(_ body: () throws -> Value) throws -> Value {
        let deadline = Date().addingTimeInterval(10)
        while true {
            do {
                return try body()
            } catch {
                guard Date() < deadline else { throw error }
                usleep(20_000)
            }
        }
    }
}
