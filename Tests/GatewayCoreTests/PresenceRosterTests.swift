import XCTest
@testable import GatewayCore

/// `PresenceRoster`: dedup per user across tabs and nodes (join only for the first tab, leave only
/// for the last), the roster after each change sorted by user, roles merged over a user's tabs,
/// node removal, and the per-node views the backends deliver and re-register from.
final class PresenceRosterTests: XCTestCase {
    private func tab(_ node: String, _ connection: UInt64) -> PresenceRoster.Tab {
        PresenceRoster.Tab(node: node, connection: ConnectionID(connection))
    }

    private func member(_ user: String, _ role: String = "user") -> PresenceMember {
        PresenceMember(user: user, role: role)
    }

    private func update(_ event: PresenceUpdate.Event, _ user: String, _ users: [PresenceMember], session: String = "s") -> PresenceUpdate {
        PresenceUpdate(session: session, event: event, user: user, users: users)
    }

    func testFirstTabJoinsAndLastTabLeaves() {
        var roster = PresenceRoster()
        XCTAssertEqual(roster.add(session: "s", tab: tab("n1", 1), user: "alice", role: "user"),
                       update(.join, "alice", [member("alice")]))
        XCTAssertNil(roster.add(session: "s", tab: tab("n1", 2), user: "alice", role: "user"), "second tab: no join")
        XCTAssertNil(roster.add(session: "s", tab: tab("n2", 1), user: "alice", role: "user"), "tab on another node: no join")
        XCTAssertNil(roster.remove(session: "s", tab: tab("n1", 1)))
        XCTAssertNil(roster.remove(session: "s", tab: tab("n2", 1)))
        XCTAssertEqual(roster.users(in: "s"), [member("alice")])
        XCTAssertEqual(roster.remove(session: "s", tab: tab("n1", 2)), update(.leave, "alice", []))
        XCTAssertTrue(roster.isEmpty, "an empty session is dropped")
        XCTAssertEqual(roster.users(in: "s"), [])
    }

    func testTheSameConnectionNumberOnTwoNodesIsTwoTabs() {
        var roster = PresenceRoster()
        _ = roster.add(session: "s", tab: tab("n1", 7), user: "alice", role: "user")
        _ = roster.add(session: "s", tab: tab("n2", 7), user: "bob", role: "user")
        XCTAssertEqual(roster.remove(session: "s", tab: tab("n1", 7)), update(.leave, "alice", [member("bob")]))
        XCTAssertEqual(roster.users(in: "s"), [member("bob")])
    }

    func testUsersAreSortedByUserBytesWhateverTheArrivalOrder() {
        var roster = PresenceRoster()
        let arrivals = ["zoe", "Bob", "alice", "émile", "10", "9"]
        var last: PresenceUpdate?
        for (index, user) in arrivals.enumerated() {
            last = roster.add(session: "s", tab: tab("n", UInt64(index)), user: user, role: "user")
        }
        XCTAssertEqual(last?.users.map(\.user), ["10", "9", "Bob", "alice", "zoe", "émile"])
        XCTAssertEqual(roster.users(in: "s").map(\.user), ["10", "9", "Bob", "alice", "zoe", "émile"])
    }

    func testEveryEventCarriesTheRosterAfterTheChange() {
        var roster = PresenceRoster()
        XCTAssertEqual(roster.add(session: "s", tab: tab("n", 1), user: "bob", role: "agent"), update(.join, "bob", [member("bob", "agent")]))
        XCTAssertEqual(roster.add(session: "s", tab: tab("n", 2), user: "alice", role: "user"),
                       update(.join, "alice", [member("alice"), member("bob", "agent")]))
        XCTAssertEqual(roster.typing(session: "s", tab: tab("n", 1)), update(.typing, "bob", [member("alice"), member("bob", "agent")]))
        XCTAssertEqual(roster.remove(session: "s", tab: tab("n", 1)), update(.leave, "bob", [member("alice")]))
    }

    func testSessionsAreIndependent() {
        var roster = PresenceRoster()
        _ = roster.add(session: "a", tab: tab("n", 1), user: "alice", role: "user")
        XCTAssertEqual(roster.add(session: "b", tab: tab("n", 1), user: "alice", role: "user"),
                       update(.join, "alice", [member("alice")], session: "b"), "one connection in two sessions")
        XCTAssertEqual(roster.remove(session: "a", tab: tab("n", 1)), update(.leave, "alice", [], session: "a"))
        XCTAssertEqual(roster.users(in: "b"), [member("alice")])
        XCTAssertEqual(roster.sessions, ["b"])
    }

    func testUnknownTabsAndSessionsChangeNothing() {
        var roster = PresenceRoster()
        XCTAssertNil(roster.remove(session: "s", tab: tab("n", 1)))
        XCTAssertNil(roster.typing(session: "s", tab: tab("n", 1)))
        _ = roster.add(session: "s", tab: tab("n", 1), user: "alice", role: "user")
        let before = roster
        XCTAssertNil(roster.remove(session: "s", tab: tab("n", 2)))
        XCTAssertNil(roster.remove(session: "other", tab: tab("n", 1)))
        XCTAssertNil(roster.typing(session: "s", tab: tab("m", 1)))
        XCTAssertEqual(roster, before)
    }

    func testAddingATabAgainOnlyUpdatesItsRole() {
        var roster = PresenceRoster()
        _ = roster.add(session: "s", tab: tab("n", 1), user: "alice", role: "user")
        XCTAssertNil(roster.add(session: "s", tab: tab("n", 1), user: "alice", role: "admin"))
        XCTAssertEqual(roster.users(in: "s"), [member("alice", "admin")])
        XCTAssertEqual(roster.remove(session: "s", tab: tab("n", 1)), update(.leave, "alice", []), "still one tab")
    }

    func testATabReRegisteredUnderAnotherUserMoves() {
        var roster = PresenceRoster()
        _ = roster.add(session: "s", tab: tab("n", 1), user: "alice", role: "user")
        XCTAssertEqual(roster.add(session: "s", tab: tab("n", 1), user: "bob", role: "user"), update(.join, "bob", [member("bob")]))
        XCTAssertEqual(roster.users(in: "s"), [member("bob")])
        XCTAssertNil(roster.member("alice", in: "s"))
    }

    func testAUserShowsTheMostPrivilegedRoleOfTheirTabs() {
        var roster = PresenceRoster()
        _ = roster.add(session: "s", tab: tab("n", 1), user: "ann", role: "user")
        _ = roster.add(session: "s", tab: tab("n", 2), user: "ann", role: "admin")
        _ = roster.add(session: "s", tab: tab("m", 3), user: "ann", role: "agent")
        XCTAssertEqual(roster.member("ann", in: "s"), member("ann", "admin"))
        _ = roster.remove(session: "s", tab: tab("n", 2))
        XCTAssertEqual(roster.member("ann", in: "s"), member("ann", "agent"))
        _ = roster.remove(session: "s", tab: tab("m", 3))
        XCTAssertEqual(roster.member("ann", in: "s"), member("ann", "user"))
    }

    func testShownRoleIsOrderIndependent() {
        let roles = ["user", "agent", "admin", "bot", "auditor"]
        for a in roles {
            for b in roles {
                XCTAssertEqual(PresenceMember.shownRole(a, b), PresenceMember.shownRole(b, a), "\(a) vs \(b)")
            }
        }
        XCTAssertEqual(PresenceMember.shownRole("user", "admin"), "admin")
        XCTAssertEqual(PresenceMember.shownRole("agent", "user"), "agent")
        XCTAssertEqual(PresenceMember.shownRole("bot", "user"), "user", "unknown roles rank lowest")
        XCTAssertEqual(PresenceMember.shownRole("bot", "auditor"), "auditor")
    }

    func testRemovingANodeLeavesOnlyUsersWithNoTabElsewhere() {
        var roster = PresenceRoster()
        _ = roster.add(session: "s", tab: tab("dead", 1), user: "carol", role: "user")
        _ = roster.add(session: "s", tab: tab("dead", 2), user: "alice", role: "user")
        _ = roster.add(session: "s", tab: tab("live", 1), user: "alice", role: "user")
        _ = roster.add(session: "s", tab: tab("dead", 3), user: "bob", role: "agent")
        _ = roster.add(session: "s", tab: tab("live", 2), user: "dan", role: "user")
        _ = roster.add(session: "t", tab: tab("dead", 1), user: "carol", role: "user")
        XCTAssertEqual(roster.removeNode("dead"), [
            update(.leave, "bob", [member("alice"), member("carol"), member("dan")]),
            update(.leave, "carol", [member("alice"), member("dan")]),
            update(.leave, "carol", [], session: "t"),
        ])
        XCTAssertEqual(roster.users(in: "s"), [member("alice"), member("dan")])
        XCTAssertEqual(roster.sessions, ["s"])
        XCTAssertEqual(roster.removeNode("dead"), [], "nothing left of it")
        XCTAssertEqual(roster.entries(of: "dead"), [])
    }

    func testConnectionsAndEntriesOfANode() {
        var roster = PresenceRoster()
        _ = roster.add(session: "b", tab: tab("n1", 5), user: "alice", role: "admin")
        _ = roster.add(session: "a", tab: tab("n1", 9), user: "bob", role: "user")
        _ = roster.add(session: "a", tab: tab("n1", 2), user: "alice", role: "user")
        _ = roster.add(session: "a", tab: tab("n2", 1), user: "carol", role: "user")
        XCTAssertEqual(roster.connections(in: "a", node: "n1"), [ConnectionID(2), ConnectionID(9)])
        XCTAssertEqual(roster.connections(in: "a", node: "n2"), [ConnectionID(1)])
        XCTAssertEqual(roster.connections(in: "c", node: "n1"), [])
        XCTAssertEqual(roster.entries(of: "n1"), [
            .init(session: "a", connection: ConnectionID(2), user: "alice", role: "user"),
            .init(session: "a", connection: ConnectionID(9), user: "bob", role: "user"),
            .init(session: "b", connection: ConnectionID(5), user: "alice", role: "admin"),
        ])
        XCTAssertEqual(roster.user(of: tab("n2", 1), in: "a"), "carol")
        XCTAssertNil(roster.user(of: tab("n2", 1), in: "b"))
    }

    /// Every interleaving of three tabs (two of one user on two nodes, one of another) arriving and
    /// going: exactly one join per user before any of that user's leaves, a leave only once no tab
    /// of the user is left, and the roster of each event equals the users with a tab at that point.
    func testEveryOrderOfArrivalsAndDeparturesAgreesWithAFreshCount() {
        let tabs = [(tab("n1", 1), "alice"), (tab("n2", 1), "alice"), (tab("n1", 2), "bob")]
        let steps = tabs.indices.flatMap { [(index: $0, add: true), (index: $0, add: false)] }
        for order in permutations(steps) where isValid(order) {
            var roster = PresenceRoster()
            var open: [PresenceRoster.Tab: String] = [:]
            for step in order {
                let (tab, user) = tabs[step.index]
                let hadUser = open.values.contains(user)
                let result: PresenceUpdate?
                if step.add {
                    open[tab] = user
                    result = roster.add(session: "s", tab: tab, user: user, role: "user")
                } else {
                    open[tab] = nil
                    result = roster.remove(session: "s", tab: tab)
                }
                let hasUser = open.values.contains(user)
                let present = Set(open.values).sorted().map { member($0) }
                if step.add {
                    XCTAssertEqual(result, hadUser ? nil : update(.join, user, present), "\(order)")
                } else {
                    XCTAssertEqual(result, hasUser ? nil : update(.leave, user, present), "\(order)")
                }
                XCTAssertEqual(roster.users(in: "s"), present, "\(order)")
            }
            XCTAssertTrue(roster.isEmpty)
        }
    }

    private func isValid(_ order: [(index: Int, add: Bool)]) -> Bool {
        var added = Set<Int>()
        for step in order {
            if step.add { added.insert(step.index) } else if !added.contains(step.index) { return false }
        }
        return true
    }

    private func permutations<T>(_ items: [T]) -> [[T]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { index -> [[T]] in
            var rest = items
            let head = rest.remove(at: index)
            return permutations(rest).map { [head] + $0 }
        }
    }
}
