import GatewayCore
import XCTest

/// What every `PresenceBackend` must do, on two nodes of one backend (in-memory nodes sharing a
/// roster, or `RedisPresence` nodes on one redis-server). Each check ends with an event every
/// connection of interest gets, and compares whole sequences up to it: since one session's
/// deliveries come in order, a missing dedup would show as an extra frame before it.
struct PresenceBehaviour {
    let nodes: any PresenceNodeFactory

    private func member(_ user: String, _ role: String = "user") -> PresenceMember { PresenceMember(user: user, role: role) }

    private func update(_ event: PresenceUpdate.Event, _ user: String, _ users: [PresenceMember], session: String = "s") -> PresenceUpdate {
        PresenceUpdate(session: session, event: event, user: user, users: users)
    }

    private func expect(_ node: PresenceNode, _ connection: UInt64, _ expected: [PresenceUpdate],
                        file: StaticString = #filePath, line: UInt = #line) {
        let frames = node.waitForFrames(connection, count: expected.count)
        XCTAssertEqual(frames, expected, "node \(node.id), connection \(connection):\n" + Self.describe(frames) + "\nexpected:\n"
                       + Self.describe(expected), file: file, line: line)
    }

    private static func describe(_ updates: [PresenceUpdate]) -> String {
        updates.map { "  \($0.session) \($0.event.rawValue) \($0.user) \($0.users.map { "\($0.user):\($0.role)" })" }
            .joined(separator: "\n")
    }

    func joinerGetsItsRosterAndTheOthersTheNewUser() throws {
        let a = try nodes.node("a"), b = try nodes.node("b")
        a.join("s", 1, "alice")
        expect(a, 1, [update(.join, "alice", [member("alice")])])
        b.join("s", 1, "bob", role: "agent")
        expect(b, 1, [update(.join, "bob", [member("alice"), member("bob", "agent")])])
        expect(a, 1, [update(.join, "alice", [member("alice")]), update(.join, "bob", [member("alice"), member("bob", "agent")])])
    }

    func tabsAndNodesAreDeduplicated() throws {
        let a = try nodes.node("a"), b = try nodes.node("b")
        a.join("s", 1, "alice")
        expect(a, 1, [update(.join, "alice", [member("alice")])])
        b.join("s", 1, "alice")
        expect(b, 1, [update(.join, "alice", [member("alice")])])
        a.join("s", 2, "alice")
        expect(a, 2, [update(.join, "alice", [member("alice")])])
        b.join("s", 2, "bob")
        let withBob = update(.join, "bob", [member("alice"), member("bob")])
        expect(b, 2, [withBob])
        expect(a, 1, [update(.join, "alice", [member("alice")]), withBob])
        a.leave("s", 1)
        b.leave("s", 1)
        a.leave("s", 2)
        expect(b, 2, [withBob, update(.leave, "alice", [member("bob")])])
        XCTAssertEqual(a.frames(1), [update(.join, "alice", [member("alice")]), withBob], "nothing after its own leave")
        XCTAssertEqual(b.frames(1), [update(.join, "alice", [member("alice")]), withBob])
        XCTAssertEqual(a.frames(2), [update(.join, "alice", [member("alice")]), withBob])
    }

    func typingGoesToEveryonePresent() throws {
        let a = try nodes.node("a"), b = try nodes.node("b")
        a.join("s", 1, "alice")
        expect(a, 1, [update(.join, "alice", [member("alice")])])
        b.join("s", 1, "bob")
        let both = [member("alice"), member("bob")]
        expect(b, 1, [update(.join, "bob", both)])
        a.typing("s", 1)
        expect(b, 1, [update(.join, "bob", both), update(.typing, "alice", both)])
        a.typing("s", 9)   // not present
        b.typing("t", 1)   // not in that session
        b.typing("s", 1)
        let expected = [update(.typing, "alice", both), update(.typing, "bob", both)]
        expect(a, 1, [update(.join, "alice", [member("alice")]), update(.join, "bob", both)] + expected)
        expect(b, 1, [update(.join, "bob", both)] + expected)
    }

    func stopTakesTheNodesUsersOut() throws {
        let a = try nodes.node("a"), b = try nodes.node("b")
        a.join("s", 1, "alice")
        expect(a, 1, [update(.join, "alice", [member("alice")])])
        b.join("s", 1, "bob")
        b.join("s", 2, "alice")
        let both = [member("alice"), member("bob")]
        expect(b, 2, [update(.join, "alice", both)])
        b.backend.stop()
        a.join("s", 2, "carol")
        expect(a, 1, [update(.join, "alice", [member("alice")]), update(.join, "bob", both),
                      update(.leave, "bob", [member("alice")]), update(.join, "carol", [member("alice"), member("carol")])])
    }

    func sessionsAreSeparate() throws {
        let a = try nodes.node("a"), b = try nodes.node("b")
        a.join("s1", 1, "alice")
        a.join("s2", 1, "alice")
        expect(a, 1, [update(.join, "alice", [member("alice")], session: "s1"), update(.join, "alice", [member("alice")], session: "s2")])
        b.join("s2", 1, "bob")
        expect(b, 1, [update(.join, "bob", [member("alice"), member("bob")], session: "s2")])
        a.leave("s1", 1)
        a.typing("s1", 1)
        a.typing("s2", 1)
        let typing = update(.typing, "alice", [member("alice"), member("bob")], session: "s2")
        expect(b, 1, [update(.join, "bob", [member("alice"), member("bob")], session: "s2"), typing])
        expect(a, 1, [update(.join, "alice", [member("alice")], session: "s1"), update(.join, "alice", [member("alice")], session: "s2"),
                      update(.join, "bob", [member("alice"), member("bob")], session: "s2"), typing])
    }

    func rolesMergeOverTabsAndUsersAreSorted() throws {
        let a = try nodes.node("a"), b = try nodes.node("b")
        a.join("s", 1, "zed")
        expect(a, 1, [update(.join, "zed", [member("zed")])])
        b.join("s", 1, "ann")
        expect(b, 1, [update(.join, "ann", [member("ann"), member("zed")])])
        b.join("s", 2, "zed", role: "admin")
        expect(b, 2, [update(.join, "zed", [member("ann"), member("zed", "admin")])])
        b.typing("s", 1)
        expect(a, 1, [update(.join, "zed", [member("zed")]), update(.join, "ann", [member("ann"), member("zed")]),
                      update(.typing, "ann", [member("ann"), member("zed", "admin")])])
        b.leave("s", 2)
        b.typing("s", 1)
        expect(a, 1, [update(.join, "zed", [member("zed")]), update(.join, "ann", [member("ann"), member("zed")]),
                      update(.typing, "ann", [member("ann"), member("zed", "admin")]),
                      update(.typing, "ann", [member("ann"), member("zed")])])  // zed's admin tab left: no event, the role goes back
    }

    func aConnectionMayComeBackAfterLeaving() throws {
        let a = try nodes.node("a"), b = try nodes.node("b")
        b.join("s", 1, "bob")
        expect(b, 1, [update(.join, "bob", [member("bob")])])
        a.join("s", 1, "alice")
        a.leave("s", 1)
        a.leave("s", 1)    // twice: no-op
        a.join("s", 1, "alice")
        let both = [member("alice"), member("bob")]
        expect(b, 1, [update(.join, "bob", [member("bob")]), update(.join, "alice", both),
                      update(.leave, "alice", [member("bob")]), update(.join, "alice", both)])
        // The first join's own roster may or may not come (Redis answers it after the leave), but
        // nothing else does: never a leave of its own user.
        XCTAssertFalse(a.frames(1).isEmpty)
        XCTAssertEqual(Set(a.frames(1)), [update(.join, "alice", both)])
    }
}

final class MemoryPresenceBehaviourTests: XCTestCase {
    private var behaviour: PresenceBehaviour { PresenceBehaviour(nodes: MemoryPresenceNodes()) }

    func testJoinerGetsItsRosterAndTheOthersTheNewUser() throws { try behaviour.joinerGetsItsRosterAndTheOthersTheNewUser() }
    func testTabsAndNodesAreDeduplicated() throws { try behaviour.tabsAndNodesAreDeduplicated() }
    func testTypingGoesToEveryonePresent() throws { try behaviour.typingGoesToEveryonePresent() }
    func testStopTakesTheNodesUsersOut() throws { try behaviour.stopTakesTheNodesUsersOut() }
    func testSessionsAreSeparate() throws { try behaviour.sessionsAreSeparate() }
    func testRolesMergeOverTabsAndUsersAreSorted() throws { try behaviour.rolesMergeOverTabsAndUsersAreSorted() }
    func testAConnectionMayComeBackAfterLeaving() throws { try behaviour.aConnectionMayComeBackAfterLeaving() }
}

final class RedisPresenceBehaviourTests: PresenceRedisTestCase {
    private var behaviour: PresenceBehaviour { PresenceBehaviour(nodes: self) }

    func testJoinerGetsItsRosterAndTheOthersTheNewUser() throws { try behaviour.joinerGetsItsRosterAndTheOthersTheNewUser() }
    func testTabsAndNodesAreDeduplicated() throws { try behaviour.tabsAndNodesAreDeduplicated() }
    func testTypingGoesToEveryonePresent() throws { try behaviour.typingGoesToEveryonePresent() }
    func testStopTakesTheNodesUsersOut() throws { try behaviour.stopTakesTheNodesUsersOut() }
    func testSessionsAreSeparate() throws { try behaviour.sessionsAreSeparate() }
    func testRolesMergeOverTabsAndUsersAreSorted() throws { try behaviour.rolesMergeOverTabsAndUsersAreSorted() }
    func testAConnectionMayComeBackAfterLeaving() throws { try behaviour.aConnectionMayComeBackAfterLeaving() }
}
