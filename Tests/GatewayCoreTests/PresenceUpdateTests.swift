import XCTest
@testable import GatewayCore

/// Several users moved by one change (a swept node, a re-registered one, a resync after a pub/sub
/// gap) become one event per user, each with the roster after it; a difference of two rosters is
/// its leaves, then its joins.
final class PresenceUpdateTests: XCTestCase {
    private func member(_ user: String, _ role: String = "user") -> PresenceMember {
        PresenceMember(user: user, role: role)
    }

    private func update(_ event: PresenceUpdate.Event, _ user: String, _ users: [PresenceMember]) -> PresenceUpdate {
        PresenceUpdate(session: "s", event: event, user: user, users: users)
    }

    func testUsersAreSortedOnConstruction() {
        XCTAssertEqual(update(.typing, "b", [member("b"), member("a")]).users, [member("a"), member("b")])
    }

    func testLeavesCountDownToTheFinalRoster() {
        XCTAssertEqual(PresenceUpdate.series(session: "s", event: .leave, subjects: [member("c"), member("a", "agent")],
                                             final: [member("b")]), [
            update(.leave, "a", [member("b"), member("c")]),
            update(.leave, "c", [member("b")]),
        ])
    }

    func testJoinsCountUpToTheFinalRoster() {
        XCTAssertEqual(PresenceUpdate.series(session: "s", event: .join, subjects: [member("c"), member("a")],
                                             final: [member("a"), member("b"), member("c")]), [
            update(.join, "a", [member("a"), member("b")]),
            update(.join, "c", [member("a"), member("b"), member("c")]),
        ])
    }

    func testTypingEventsAllCarryTheFinalRoster() {
        XCTAssertEqual(PresenceUpdate.series(session: "s", event: .typing, subjects: [member("b"), member("a")],
                                             final: [member("a"), member("b")]), [
            update(.typing, "a", [member("a"), member("b")]),
            update(.typing, "b", [member("a"), member("b")]),
        ])
    }

    func testNoSubjectsNoEvents() {
        XCTAssertEqual(PresenceUpdate.series(session: "s", event: .leave, subjects: [], final: [member("a")]), [])
    }

    func testDifferenceIsLeavesThenJoins() {
        let old = [member("a"), member("b"), member("c")]
        let new = [member("b", "admin"), member("d"), member("e")]
        XCTAssertEqual(PresenceUpdate.difference(session: "s", from: old, to: new), [
            update(.leave, "a", [member("b", "admin"), member("c")]),
            update(.leave, "c", [member("b", "admin")]),
            update(.join, "d", [member("b", "admin"), member("d")]),
            update(.join, "e", [member("b", "admin"), member("d"), member("e")]),
        ])
    }

    func testEqualRostersHaveNoDifference() {
        XCTAssertEqual(PresenceUpdate.difference(session: "s", from: [member("a")], to: [member("a", "admin")]), [],
                       "a role change alone is no event")
        XCTAssertEqual(PresenceUpdate.difference(session: "s", from: [], to: []), [])
    }

    func testTheLastEventOfADifferenceCarriesTheNewRoster() {
        let old = [member("x"), member("y")]
        let new = [member("y"), member("z"), member("w")]
        XCTAssertEqual(PresenceUpdate.difference(session: "s", from: old, to: new).last?.users, PresenceMember.sorted(new))
        XCTAssertEqual(PresenceUpdate.difference(session: "s", from: new, to: [member("y")]).last?.users, [member("y")])
    }
}
