import XCTest
@testable import GatewayCore

/// `PresenceBacklog`: frames in order per connection, the oldest of a session dropped past its byte
/// bound (the newest always kept), sessions and connections independent, a leave discarding.
final class PresenceBacklogTests: XCTestCase {
    private let a = ConnectionID(1)
    private let b = ConnectionID(2)

    private func frame(_ text: String) -> [UInt8] { Array(text.utf8) }

    private func drain(_ backlog: inout PresenceBacklog, _ connection: ConnectionID) -> [String] {
        var out: [String] = []
        while let next = backlog.take(for: connection) { out.append(String(decoding: next, as: UTF8.self)) }
        return out
    }

    func testFramesComeInOrderToEachRecipient() {
        var backlog = PresenceBacklog()
        backlog.offer(frame("s1"), session: "s", to: [a, b])
        backlog.offer(frame("t1"), session: "t", to: [a])
        backlog.offer(frame("s2"), session: "s", to: [a, b])
        XCTAssertEqual(drain(&backlog, a), ["s1", "t1", "s2"])
        XCTAssertEqual(drain(&backlog, b), ["s1", "s2"])
        XCTAssertNil(backlog.take(for: a))
        XCTAssertEqual(backlog.count, 0)
    }

    func testPastTheBoundTheOldestOfThatSessionGo() {
        var backlog = PresenceBacklog(perSessionBytes: 6)  // three 2-byte frames of a session
        backlog.offer(frame("t1"), session: "t", to: [a])
        for index in 1...5 { backlog.offer(frame("s\(index)"), session: "s", to: [a]) }
        backlog.offer(frame("t2"), session: "t", to: [a])
        XCTAssertEqual(drain(&backlog, a), ["t1", "s3", "s4", "s5", "t2"], "s1 and s2 dropped; t untouched")
    }

    func testTakingMakesRoomAgain() {
        var backlog = PresenceBacklog(perSessionBytes: 2)
        backlog.offer(frame("1"), session: "s", to: [a])
        backlog.offer(frame("2"), session: "s", to: [a])
        XCTAssertEqual(backlog.take(for: a).map { String(decoding: $0, as: UTF8.self) }, "1")
        backlog.offer(frame("3"), session: "s", to: [a])
        XCTAssertEqual(drain(&backlog, a), ["2", "3"])
    }

    func testAFrameOverTheBoundIsStillSentAndReplacesTheOlderOnes() {
        var backlog = PresenceBacklog(perSessionBytes: 4)
        backlog.offer(frame("ab"), session: "s", to: [a])
        backlog.offer(frame("a big roster"), session: "s", to: [a])
        XCTAssertEqual(drain(&backlog, a), ["a big roster"])
        backlog.offer(frame("a big roster"), session: "s", to: [a])
        backlog.offer(frame("the next big one"), session: "s", to: [a])
        XCTAssertEqual(drain(&backlog, a), ["the next big one"], "big sessions collapse to their latest roster")
    }

    func testTheDefaultKeepsManySmallFrames() {
        var backlog = PresenceBacklog()
        XCTAssertEqual(backlog.perSessionBytes, 64 * 1024)
        let small = Array(repeating: UInt8(ascii: "x"), count: 200)
        for _ in 0..<100 { backlog.offer(small, session: "s", to: [a]) }
        var taken = 0
        while backlog.take(for: a) != nil { taken += 1 }
        XCTAssertEqual(taken, 100)
    }

    func testDiscardDropsOneSessionOfOneConnection() {
        var backlog = PresenceBacklog()
        backlog.offer(frame("s1"), session: "s", to: [a, b])
        backlog.offer(frame("t1"), session: "t", to: [a])
        backlog.discard(a, session: "s")
        backlog.discard(a, session: "nothing")
        backlog.discard(ConnectionID(9), session: "s")
        XCTAssertEqual(drain(&backlog, a), ["t1"])
        XCTAssertEqual(drain(&backlog, b), ["s1"])
        backlog.offer(frame("s2"), session: "s", to: [a])
        backlog.discard(a, session: "s")
        XCTAssertEqual(backlog.count, 0, "nothing left for it: no entry")
    }
}
