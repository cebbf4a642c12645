import GatewayCore
import XCTest
@testable import GatewayCluster

/// `PresenceViews`: replies and channel events in either order give each event once and never an
/// older roster; local users stay shown whatever Redis says; without Redis the local event alone
/// moves the view; a fresh roster gives the difference.
final class PresenceViewsTests: XCTestCase {
    private func member(_ user: String, _ role: String = "user") -> PresenceMember { PresenceMember(user: user, role: role) }

    private func update(_ event: PresenceUpdate.Event, _ user: String, _ users: [PresenceMember]) -> PresenceUpdate {
        PresenceUpdate(session: "s", event: event, user: user, users: users)
    }

    private func message(_ version: Int64, _ event: PresenceUpdate.Event, _ subjects: [PresenceMember],
                         _ users: [PresenceMember]) -> PresenceMessage {
        PresenceMessage(version: version, event: event, subjects: subjects, users: users)
    }

    private func reply(_ version: Int64, published: Bool, _ users: [PresenceMember]) -> PresenceReply {
        PresenceReply(version: version, published: published ? 1 : 0, leaseLost: false, users: users)
    }

    func testNothingIsDeliveredForASessionNotOpen() {
        var views = PresenceViews()
        XCTAssertEqual(views.apply(message(5, .join, [member("a")], [member("a")]), session: "s", local: []), [])
        XCTAssertNil(views.joined(session: "s", user: "a", reply: nil, local: [member("a")]))
        XCTAssertEqual(views.refresh(session: "s", version: 9, users: [member("a")], local: []), [])
        views.open("s")
        views.close("s")
        XCTAssertNil(views.view("s"))
    }

    func testChannelEventsApplyInVersionOrderAndStaleOnesAreDropped() {
        var views = PresenceViews()
        views.open("s")
        XCTAssertEqual(views.apply(message(10, .join, [member("b")], [member("b")]), session: "s", local: []),
                       [update(.join, "b", [member("b")])])
        XCTAssertEqual(views.apply(message(10, .join, [member("b")], [member("b")]), session: "s", local: []), [], "a repeat")
        XCTAssertEqual(views.apply(message(8, .leave, [member("x")], []), session: "s", local: []), [], "older")
        XCTAssertEqual(views.apply(message(12, .typing, [member("b")], [member("b")]), session: "s", local: []),
                       [update(.typing, "b", [member("b")])])
        XCTAssertEqual(views.view("s"), .init(version: 12, users: [member("b")]))
    }

    func testOwnJoinReplyFirstThenItsChannelCopyIsDropped() {
        var views = PresenceViews()
        views.open("s")
        let local = [member("a")]
        let answer = views.joined(session: "s", user: "a", reply: reply(20, published: true, [member("a"), member("b")]), local: local)
        XCTAssertEqual(answer?.others, [update(.join, "a", [member("a")]), update(.join, "b", [member("a"), member("b")])],
                       "everyone the others had not been told about")
        XCTAssertEqual(answer?.own, update(.join, "a", [member("a"), member("b")]))
        XCTAssertEqual(views.apply(message(20, .join, [member("a")], [member("a"), member("b")]), session: "s", local: local), [])
    }

    func testChannelCopyFirstThenTheReplyOnlyGivesTheJoinerItsRoster() {
        var views = PresenceViews()
        views.open("s")
        _ = views.refresh(session: "s", version: 5, users: [member("b")], local: [])
        let local = [member("a")]
        XCTAssertEqual(views.apply(message(20, .join, [member("a")], [member("a"), member("b")]), session: "s", local: local),
                       [update(.join, "a", [member("a"), member("b")])])
        let answer = views.joined(session: "s", user: "a", reply: reply(20, published: true, [member("a"), member("b")]), local: local)
        XCTAssertEqual(answer?.others, [])
        XCTAssertEqual(answer?.own, update(.join, "a", [member("a"), member("b")]))
    }

    func testAReplyOlderThanTheViewKeepsTheNewerRoster() {
        var views = PresenceViews()
        views.open("s")
        let local = [member("a")]
        _ = views.apply(message(30, .join, [member("c")], [member("a"), member("b"), member("c")]), session: "s", local: local)
        let answer = views.joined(session: "s", user: "a", reply: reply(20, published: true, [member("a"), member("b")]), local: local)
        XCTAssertEqual(answer?.others, [])
        XCTAssertEqual(answer?.own.users, [member("a"), member("b"), member("c")])
        XCTAssertEqual(views.view("s")?.version, 30)
    }

    func testLocalUsersStayShownWhateverRedisSays() {
        var views = PresenceViews()
        views.open("s")
        let local = [member("a")]
        _ = views.joined(session: "s", user: "a", reply: reply(10, published: true, [member("a"), member("b")]), local: local)
        // A sweep of this node's lapsed lease: the channel says a left; a is still here.
        XCTAssertEqual(views.apply(message(11, .leave, [member("a"), member("b")], []), session: "s", local: local),
                       [update(.leave, "b", [member("a")])])
        XCTAssertEqual(views.refresh(session: "s", version: 12, users: [], local: local), [], "Redis lost everything")
        XCTAssertEqual(views.view("s")?.users, [member("a")])
    }

    func testWithoutRedisTheLocalEventAloneMovesTheView() {
        var views = PresenceViews()
        views.open("s")
        _ = views.refresh(session: "s", version: 7, users: [member("b")], local: [])
        let joined = views.joined(session: "s", user: "a", reply: nil, local: [member("a")])
        XCTAssertEqual(joined?.others, [update(.join, "a", [member("a"), member("b")])])
        XCTAssertEqual(joined?.own, update(.join, "a", [member("a"), member("b")]))
        XCTAssertEqual(views.typedLocally(session: "s", user: "a"), [update(.typing, "a", [member("a"), member("b")])])
        XCTAssertEqual(views.left(session: "s", user: "a", reply: nil, local: [member("a")]), [], "another tab of a is here")
        XCTAssertEqual(views.left(session: "s", user: "a", reply: nil, local: []), [update(.leave, "a", [member("b")])])
        XCTAssertEqual(views.left(session: "s", user: "a", reply: nil, local: []), [], "already gone")
        XCTAssertEqual(views.view("s"), .init(version: 7, users: [member("b")]), "no version of its own")
    }

    func testOwnLeaveReplyThenItsChannelCopy() {
        var views = PresenceViews()
        views.open("s")
        _ = views.refresh(session: "s", version: 5, users: [member("a"), member("b")], local: [member("b")])
        XCTAssertEqual(views.left(session: "s", user: "a", reply: reply(6, published: true, [member("b")]), local: [member("b")]),
                       [update(.leave, "a", [member("b")])])
        XCTAssertEqual(views.apply(message(6, .leave, [member("a")], [member("b")]), session: "s", local: [member("b")]), [],
                       "its channel copy")
    }

    func testTypingOlderThanTheViewIsStillToldWithTheCurrentRoster() {
        var views = PresenceViews()
        views.open("s")
        _ = views.refresh(session: "s", version: 9, users: [member("a"), member("b"), member("c")], local: [])
        XCTAssertEqual(views.apply(message(7, .typing, [member("a")], [member("a"), member("b")]), session: "s", local: []),
                       [update(.typing, "a", [member("a"), member("b"), member("c")])])
        XCTAssertEqual(views.apply(message(8, .typing, [member("x")], [member("x")]), session: "s", local: []), [],
                       "not present any more")
        XCTAssertEqual(views.apply(message(8, .join, [member("c")], [member("a"), member("b"), member("c")]), session: "s", local: []), [])
        XCTAssertEqual(views.view("s")?.version, 9)
    }

    func testLocalTypingNeedsTheUserInTheView() {
        var views = PresenceViews()
        XCTAssertEqual(views.typedLocally(session: "s", user: "a"), [])
        views.open("s")
        XCTAssertEqual(views.typedLocally(session: "s", user: "a"), [])
        _ = views.refresh(session: "s", version: 1, users: [member("a")], local: [])
        XCTAssertEqual(views.typedLocally(session: "s", user: "a"), [update(.typing, "a", [member("a")])])
    }

    func testRefreshGivesTheDifferenceAndIgnoresOlderRosters() {
        var views = PresenceViews()
        views.open("s")
        XCTAssertEqual(views.refresh(session: "s", version: 5, users: [member("a"), member("b")], local: []),
                       [update(.join, "a", [member("a")]), update(.join, "b", [member("a"), member("b")])])
        XCTAssertEqual(views.refresh(session: "s", version: 9, users: [member("b"), member("c")], local: []),
                       [update(.leave, "a", [member("b")]), update(.join, "c", [member("b"), member("c")])])
        XCTAssertEqual(views.refresh(session: "s", version: 8, users: [], local: []), [])
        XCTAssertEqual(views.view("s"), .init(version: 9, users: [member("b"), member("c")]))
    }

    func testEventsThatChangeNothingShownAreDropped() {
        var views = PresenceViews()
        views.open("s")
        _ = views.refresh(session: "s", version: 1, users: [member("a"), member("b")], local: [member("a")])
        // A node re-registering after Redis lost everything: its users join again in Redis.
        XCTAssertEqual(views.apply(message(2, .join, [member("a"), member("b"), member("c")], [member("a"), member("b"), member("c")]),
                                   session: "s", local: [member("a")]),
                       [update(.join, "c", [member("a"), member("b"), member("c")])])
        XCTAssertEqual(views.apply(message(3, .leave, [member("x")], [member("a"), member("b"), member("c")]), session: "s",
                                   local: [member("a")]), [], "never shown")
        XCTAssertEqual(views.apply(message(4, .typing, [member("x")], [member("a"), member("b"), member("c")]), session: "s",
                                   local: [member("a")]), [], "not present")
        XCTAssertEqual(views.view("s")?.version, 4)
    }

    func testASweptNodesUsersLeaveOneByOne() {
        var views = PresenceViews()
        views.open("s")
        _ = views.refresh(session: "s", version: 1, users: [member("a"), member("b"), member("c")], local: [member("a")])
        XCTAssertEqual(views.apply(message(2, .leave, [member("c"), member("b")], [member("a")]), session: "s", local: [member("a")]), [
            update(.leave, "b", [member("a"), member("c")]),
            update(.leave, "c", [member("a")]),
        ])
    }
}
