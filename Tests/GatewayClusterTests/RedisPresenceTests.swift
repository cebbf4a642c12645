import GatewayCore
import GatewayRedis
import XCTest
@testable import GatewayCluster

/// What only the Redis backend has: leases and sweeps (a node that stops renewing, as a SIGKILLed
/// one does, has its users removed), TTLs on every key, a restarted node clearing what its
/// predecessor left, and Redis going away and coming back (or forgetting everything).
final class RedisPresenceTests: PresenceRedisTestCase {
    private func member(_ user: String, _ role: String = "user") -> PresenceMember { PresenceMember(user: user, role: role) }

    private func update(_ event: PresenceUpdate.Event, _ user: String, _ users: [PresenceMember]) -> PresenceUpdate {
        PresenceUpdate(session: "s", event: event, user: user, users: users)
    }

    /// Fields of the session's members hash, `#v` left out.
    private func tabs(_ session: String = "s") throws -> [String] {
        try cli("HKEYS", PresenceKeys(ClusterKeys()).members(session)).filter { $0 != "#v" }.sorted()
    }

    private func shortLease(_ millis: Int) -> RedisPresenceSettings {
        var settings = Self.steadySettings
        settings.leaseMillis = millis
        settings.sweepIntervalMillis = 100
        return settings
    }

    func testAHaltedNodesUsersAreSweptOutAndItsKeysGo() throws {
        let a = try node("a", settings: shortLease(5_000))
        let presenceB = try presence("b", settings: shortLease(400))
        let b = PresenceNode(id: "b", backend: presenceB) { presenceB.isListening(to: $0) }
        a.join("s", 1, "alice")
        b.join("s", 1, "bob")
        b.join("s", 2, "carol")
        b.join("other", 3, "bob")
        XCTAssertEqual(a.waitForFrames(1, count: 3).count, 3)
        presenceB.halt()  // no leave, no more renewals: a SIGKILL as Redis sees it
        let frames = a.waitForFrames(1, count: 5)
        XCTAssertEqual(Array(frames.suffix(2)), [update(.leave, "bob", [member("alice"), member("carol")]),
                                                update(.leave, "carol", [member("alice")])])
        XCTAssertEqual(try tabs(), ["a|1"])
        XCTAssertEqual(try tabs("other"), [])
        XCTAssertEqual(try cli("EXISTS", PresenceKeys(ClusterKeys()).members("other")), ["0"], "nobody left in it")
        XCTAssertEqual(try cli("ZRANGE", PresenceKeys(ClusterKeys()).nodes, "0", "-1"), ["a"])
        XCTAssertEqual(try cli("EXISTS", PresenceKeys(ClusterKeys()).nodeSessions("b")), ["0"])
    }

    func testALiveNodeIsNeverSwept() throws {
        let a = try node("a", settings: shortLease(600))
        let b = try node("b", settings: shortLease(600))
        a.join("s", 1, "alice")
        b.join("s", 1, "bob")
        // Until both leases have been renewed past two lease lengths beyond where they were, with
        // sweeps every 100 ms on both nodes meanwhile: the renewals keep both in.
        let nodes = PresenceKeys(ClusterKeys()).nodes
        func expiry(_ node: String) throws -> Double { Double(try cli("ZSCORE", nodes, node).first ?? "") ?? 0 }
        let (startA, startB) = (try expiry("a"), try expiry("b"))
        XCTAssertTrue(try eventually { try expiry("a") > startA + 1_200 && expiry("b") > startB + 1_200 })
        b.typing("s", 1)
        let frames = a.waitForFrames(1, count: 3)
        XCTAssertEqual(frames, [update(.join, "alice", [member("alice")]), update(.join, "bob", [member("alice"), member("bob")]),
                                update(.typing, "bob", [member("alice"), member("bob")])])
        XCTAssertEqual(try tabs(), ["a|1", "b|1"])
    }

    func testEveryKeyHasATTL() throws {
        let a = try node("a"), b = try node("b")
        a.join("s", 1, "alice")
        b.join("s", 1, "bob")
        b.join("t", 2, "bob")
        b.typing("s", 1)
        XCTAssertEqual(a.waitForFrames(1, count: 3).count, 3)
        let keys = try cli("KEYS", "cg:p:*").sorted()
        XCTAssertEqual(keys, ["cg:p:n:a", "cg:p:n:b", "cg:p:nodes", "cg:p:s:s", "cg:p:s:t"])
        for key in keys {
            let ttl = try XCTUnwrap(Int(try cli("PTTL", key).first ?? ""), key)
            XCTAssertGreaterThan(ttl, 0, key)
            XCTAssertLessThanOrEqual(ttl, Self.steadySettings.keyTTLMillis, key)
        }
    }

    func testAStartingNodeClearsWhatItsPredecessorLeft() throws {
        let b = try node("b")
        b.join("s", 1, "bob")
        let first = try presence("a")
        let a = PresenceNode(id: "a", backend: first) { first.isListening(to: $0) }
        a.join("s", 1, "alice")
        a.join("s", 2, "carol")
        XCTAssertEqual(b.waitForFrames(1, count: 3).count, 3)
        first.halt()
        // The same node id again (a restart), before the old lease ran out.
        let again = try node("a")
        XCTAssertEqual(Array(b.waitForFrames(1, count: 5).suffix(2)), [update(.leave, "alice", [member("bob"), member("carol")]),
                                                                      update(.leave, "carol", [member("bob")])])
        again.join("s", 1, "dan")
        XCTAssertEqual(again.waitForFrames(1, count: 1), [update(.join, "dan", [member("bob"), member("dan")])])
        XCTAssertEqual(try tabs(), ["a|1", "b|1"])
    }

    func testRedisDownDegradesToLocalEventsAndTheNodeReRegistersWhenItIsBack() throws {
        let a = try node("a", settings: shortLease(900))
        let b = try node("b", settings: shortLease(900))
        a.join("s", 1, "alice")
        b.join("s", 1, "bob")
        XCTAssertEqual(a.waitForFrames(1, count: 2).count, 2)
        server.kill()
        a.join("s", 2, "carol", listen: false)
        let all = [member("alice"), member("bob"), member("carol")]
        XCTAssertEqual(a.waitForFrames(2, count: 1), [update(.join, "carol", all)], "from what the node knows")
        XCTAssertEqual(a.waitForFrames(1, count: 3).last, update(.join, "carol", all), "its other connections are told")
        a.typing("s", 2)
        XCTAssertEqual(a.waitForFrames(1, count: 4).last, update(.typing, "carol", all))
        try server.start()  // empty: Redis lost every key and script
        XCTAssertTrue(b.waitForLastFrame(1) { $0.users == all }, "b hears of carol once a re-registered: \(b.frames(1))")
        XCTAssertTrue(try eventually { try tabs() == ["a|1", "a|2", "b|1"] }, "\((try? tabs()) ?? [])")
        XCTAssertEqual(a.frames(1).last?.users, all)
        b.typing("s", 1)
        XCTAssertTrue(a.waitForLastFrame(1) { $0 == self.update(.typing, "bob", all) })
    }

    func testAFlushedRedisIsRefilledWithinALease() throws {
        let a = try node("a", settings: shortLease(900))
        a.join("s", 1, "alice")
        a.join("s", 2, "bob")
        XCTAssertEqual(a.waitForFrames(1, count: 2).count, 2)
        _ = try cli("FLUSHALL")
        _ = try cli("SCRIPT", "FLUSH")
        XCTAssertTrue(try eventually { try tabs() == ["a|1", "a|2"] })
        XCTAssertEqual(try cli("ZRANGE", PresenceKeys(ClusterKeys()).nodes, "0", "-1"), ["a"])
        a.leave("s", 2)
        XCTAssertEqual(a.waitForFrames(1, count: 3).last, update(.leave, "bob", [member("alice")]))
        XCTAssertEqual(try tabs(), ["a|1"])
    }

    func testStopRemovesTheNodeAndItsLease() throws {
        let a = try presence("a")
        let node = PresenceNode(id: "a", backend: a) { a.isListening(to: $0) }
        node.join("s", 1, "alice")
        node.join("t", 1, "alice")
        XCTAssertEqual(node.waitForFrames(1, count: 2).count, 2)
        a.stop()
        XCTAssertEqual(try cli("KEYS", "cg:p:*"), [])
        node.join("s", 2, "late")  // after stop: ignored
        XCTAssertEqual(try cli("KEYS", "cg:p:*"), [])
    }
}
