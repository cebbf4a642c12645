@testable import GatewayCluster
import GatewayCore
import GatewayRedis
import XCTest

/// The scripts' replies read into Swift: every shape the scripts return, and a refusal of the others.
final class SessionScriptRepliesTests: XCTestCase {
    private let user = #"{"id":"m1","role":"user","author":"guest-1","text":"question \"1\""}"#
    private let reply = #"{"id":"t1","role":"assistant","author":"demo","text":"answer","turn":"t1","model":"demo","streaming":false,"finish":"stop"}"#

    private func frame(_ seq: Int, _ body: SessionEventBody) -> RedisValue {
        .bulk(SessionEvent(session: "s", seq: seq, timestamp: 7, body: body).encoded)
    }

    func testCheckReplies() throws {
        XCTAssertEqual(try SessionScriptReplies.check(.array([.integer(1), .integer(5)])), .duplicate(ackSeq: 5))
        XCTAssertEqual(try SessionScriptReplies.check(.array([.integer(2)])), .busy)
        XCTAssertEqual(try SessionScriptReplies.check(.array([.integer(0), .bulk(user), .bulk("not json"), .bulk(reply)])),
                       .history([ChatMessage(role: .user, content: "question \"1\""), ChatMessage(role: .assistant, content: "answer")]))
        XCTAssertEqual(try SessionScriptReplies.check(.array([.integer(0)])), .history([]))
        for odd: RedisValue in [.integer(0), .array([]), .array([.integer(1)]), .array([.integer(7)]), .bulk("0")] {
            XCTAssertThrowsError(try SessionScriptReplies.check(odd), "\(odd)")
        }
    }

    func testAcceptReplies() throws {
        XCTAssertEqual(try SessionScriptReplies.accept(.array([.integer(0), .integer(3)])), .accepted(ackSeq: 3))
        XCTAssertEqual(try SessionScriptReplies.accept(.array([.integer(1), .integer(1)])), .duplicate(ackSeq: 1))
        XCTAssertEqual(try SessionScriptReplies.accept(.array([.integer(2)])), .busy)
        XCTAssertEqual(try SessionScriptReplies.accept(.array([.integer(3)])), .overloaded)
        for odd: RedisValue in [.array([.integer(0)]), .array([.integer(4)]), .status("OK"), .array([.integer(1), .bulk("1")])] {
            XCTAssertThrowsError(try SessionScriptReplies.accept(odd), "\(odd)")
        }
    }

    func testAReadOfWhatFollowsIsTheEventsUpToTheFirstThatWillNotDecode() throws {
        let events = try SessionScriptReplies.read(.array([.integer(9), .array([frame(3, .turnDelta(turn: "t", text: "a")),
                                                                              frame(4, .turnDelta(turn: "t", text: "b")),
                                                                              .bulk("{broken"), frame(6, .turnDelta(turn: "t", text: "c"))])]),
                                               session: "s")
        guard case .events(let list, let lastSeq) = events else { return XCTFail("\(events)") }
        XCTAssertEqual(list.map(\.seq), [3, 4])
        XCTAssertEqual(lastSeq, 9)
    }

    func testAFullReadIsASeedWithTheStreamingReplyLastAndFramesAfterAnUndecodableOne() throws {
        let reply = try SessionScriptReplies.read(.array([
            .integer(8),
            .array([frame(5, .message(id: "m2", author: "a", text: "x")), .bulk("{broken"), frame(7, .turnStart(turn: "t2", model: "demo")),
                    frame(8, .turnDelta(turn: "t2", text: "So far"))]),
            .array([.bulk(user), .bulk(self.reply), .bulk("[]")]),
            .bulk("t2"), .bulk("m2"), .bulk("demo"), .bulk("So far"),
        ]), session: "s")
        guard case .seed(let seed) = reply else { return XCTFail("\(reply)") }
        XCTAssertEqual(seed.lastSeq, 8)
        XCTAssertEqual(seed.events.map(\.seq), [7, 8], "the log starts after what would not decode")
        XCTAssertEqual(seed.activeTurn, SessionState.ActiveTurn(turn: "t2", messageID: "m2", model: "demo"))
        XCTAssertEqual(seed.transcript, [
            Transcript.Entry(id: "m1", role: .user, author: "guest-1", text: "question \"1\""),
            Transcript.Entry(id: "t1", role: .assistant, author: "demo", text: "answer", turn: "t1", model: "demo", finish: .stop),
            Transcript.Entry(id: "t2", role: .assistant, author: "demo", text: "So far", turn: "t2", model: "demo", streaming: true),
        ])
    }

    func testAFullReadWithoutAnActiveTurnAddsNoStreamingEntry() throws {
        let reply = try SessionScriptReplies.read(.array([.integer(0), .array([]), .array([]), .bulk(""), .bulk(""), .bulk(""), .bulk("")]),
                                                  session: "s")
        guard case .seed(let seed) = reply else { return XCTFail("\(reply)") }
        XCTAssertEqual(seed, SessionState.ReplicaSeed(session: "s", lastSeq: 0, events: [], transcript: [], activeTurn: nil))
    }

    func testReadsOfAnotherShapeAreRefused() {
        for odd: RedisValue in [.array([.integer(1)]), .array([.bulk("1"), .array([])]), .array([.integer(1), .bulk("x")]),
                                .array([.integer(1), .array([]), .array([]), .integer(0), .bulk(""), .bulk(""), .bulk("")])] {
            XCTAssertThrowsError(try SessionScriptReplies.read(odd, session: "s"), "\(odd)")
        }
    }
}
