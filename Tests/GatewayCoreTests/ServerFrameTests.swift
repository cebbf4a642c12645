import XCTest
@testable import GatewayCore

/// Server frames that are not session events: each encodes to one JSON object with exactly the
/// fields of docs/protocol.md, `type` first.
final class ServerFrameTests: XCTestCase {
    private func object(_ frame: ServerFrame, file: StaticString = #filePath, line: UInt = #line) -> [String: JSONValue] {
        let bytes = frame.encode()
        guard case .object(let members)? = try? JSONValue.parse(bytes) else {
            XCTFail("not a JSON object: \(String(decoding: bytes, as: UTF8.self))", file: file, line: line)
            return [:]
        }
        return members
    }

    private func assertTypeFirst(_ frame: ServerFrame, _ type: String, file: StaticString = #filePath, line: UInt = #line) {
        let text = String(decoding: frame.encode(), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("{\"type\":\"\(type)\""), text, file: file, line: line)
    }

    func testWelcome() {
        let frame = ServerFrame.welcome(connectionID: "c17", node: "node-ab12c", user: "guest-x1", role: "user", tenant: "default",
                                        heartbeatSeconds: 25)
        XCTAssertEqual(object(frame), [
            "type": .string("welcome"), "connection_id": .string("c17"), "node": .string("node-ab12c"),
            "user": .string("guest-x1"), "role": .string("user"), "tenant": .string("default"), "heartbeat_s": .int(25), "protocol": .string("chat.v1"),
        ])
        assertTypeFirst(frame, "welcome")
    }

    func testJoined() {
        XCTAssertEqual(object(.joined(session: "s1", seq: 0, recovered: false)),
                       ["type": .string("joined"), "session": .string("s1"), "seq": .int(0), "recovered": .bool(false)])
        XCTAssertEqual(object(.joined(session: "s1", seq: 123, recovered: true)),
                       ["type": .string("joined"), "session": .string("s1"), "seq": .int(123), "recovered": .bool(true)])
        assertTypeFirst(.joined(session: "s", seq: 1, recovered: true), "joined")
    }

    func testAck() {
        XCTAssertEqual(object(.ack(id: "m-1", seq: 7)), ["type": .string("ack"), "id": .string("m-1"), "seq": .int(7)])
        assertTypeFirst(.ack(id: "x", seq: 1), "ack")
    }

    func testErrorWithAndWithoutRef() {
        XCTAssertEqual(object(.error(.busy(session: "s1"), ref: "m-9")), [
            "type": .string("error"), "code": .string("busy"),
            "message": .string(ProtocolError.busy(session: "s1").message), "ref": .string("m-9"),
        ])
        XCTAssertEqual(object(.error(.badRequest("missing field 'type'"), ref: nil)), [
            "type": .string("error"), "code": .string("bad_request"), "message": .string("missing field 'type'"),
        ])
        assertTypeFirst(.error(.overloaded, ref: nil), "error")
    }

    func testEveryErrorCode() {
        let cases: [(ProtocolError, String)] = [
            (.badRequest("x"), "bad_request"), (.notJoined(session: "s"), "not_joined"), (.busy(session: "s"), "busy"),
            (.overloaded, "overloaded"), (.tooLarge("x"), "too_large"), (.internalError("x"), "internal"),
            (.budgetExceeded(tenant: "t", retryAfterMillis: 1), "budget_exceeded"),
            (.rateLimited(.messagesPerUser, retryAfterMillis: 1), "rate_limited"),
        ]
        for (error, code) in cases {
            XCTAssertEqual(error.code, code)
            XCTAssertFalse(error.message.isEmpty, code)
            XCTAssertEqual(object(.error(error, ref: "r"))["code"], .string(code))
            XCTAssertEqual(object(.error(error, ref: "r"))["message"], .string(error.message))
        }
        XCTAssertTrue(ProtocolError.notJoined(session: "room-7").message.contains("room-7"))
        XCTAssertTrue(ProtocolError.busy(session: "room-7").message.contains("room-7"))
        XCTAssertEqual(ProtocolError.badRequest("detail").message, "detail")
        XCTAssertEqual(ProtocolError.tooLarge("big").message, "big")
        XCTAssertEqual(ProtocolError.internalError("oops").message, "oops")
    }

    func testRateLimitedCarriesRetryAfterAndSaysWhichLimit() {
        XCTAssertEqual(object(.error(.rateLimited(.messagesPerUser, retryAfterMillis: 2_500), ref: "m-3")), [
            "type": .string("error"), "code": .string("rate_limited"),
            "message": .string("rate limited: too many messages from this user; retry after retry_after_ms"),
            "ref": .string("m-3"), "retry_after_ms": .int(2_500),
        ])
        for name in RateLimitName.allCases {
            XCTAssertTrue(ProtocolError.rateLimited(name, retryAfterMillis: 1).message.contains(name.refusal))
        }
        XCTAssertEqual(object(.error(.rateLimited(.connectionsPerIP, retryAfterMillis: 1_000), ref: nil))["retry_after_ms"], .int(1_000))
        XCTAssertNil(object(.error(.busy(session: "s"), ref: nil))["retry_after_ms"])
    }

    func testErrorMessagesAreEscaped() {
        let detail = "field 'x' \"quoted\" \\ back\nline \u{1} é"
        XCTAssertEqual(object(.error(.badRequest(detail), ref: "id\"1"))["message"], .string(detail))
        XCTAssertEqual(object(.error(.badRequest(detail), ref: "id\"1"))["ref"], .string("id\"1"))
    }

    func testSnapshotWithStreamingFlag() {
        let entries = [
            Transcript.Entry(id: "m1", role: .user, author: "guest-1", text: "hi \"there\"", turn: nil, model: nil,
                             streaming: false, finish: nil),
            Transcript.Entry(id: "t1", role: .assistant, author: "demo", text: "Hello!", turn: "t1", model: "demo",
                             streaming: false, finish: .stop),
            Transcript.Entry(id: "m2", role: .user, author: "guest-1", text: "more", turn: nil, model: nil,
                             streaming: false, finish: nil),
            Transcript.Entry(id: "t2", role: .assistant, author: "demo", text: "Partial te", turn: "t2", model: "demo",
                             streaming: true, finish: nil),
        ]
        let frame = ServerFrame.snapshot(Snapshot(session: "s1", seq: 9, entries: entries))
        assertTypeFirst(frame, "snapshot")
        XCTAssertEqual(object(frame), [
            "type": .string("snapshot"), "session": .string("s1"), "seq": .int(9),
            "messages": .array([
                .object(["id": .string("m1"), "role": .string("user"), "author": .string("guest-1"), "text": .string("hi \"there\"")]),
                .object(["id": .string("t1"), "role": .string("assistant"), "author": .string("demo"), "text": .string("Hello!"),
                         "turn": .string("t1"), "model": .string("demo"), "streaming": .bool(false), "finish": .string("stop")]),
                .object(["id": .string("m2"), "role": .string("user"), "author": .string("guest-1"), "text": .string("more")]),
                .object(["id": .string("t2"), "role": .string("assistant"), "author": .string("demo"), "text": .string("Partial te"),
                         "turn": .string("t2"), "model": .string("demo"), "streaming": .bool(true)]),
            ]),
        ])
    }

    func testEmptySnapshot() {
        XCTAssertEqual(object(.snapshot(Snapshot(session: "s", seq: 0, entries: []))),
                       ["type": .string("snapshot"), "session": .string("s"), "seq": .int(0), "messages": .array([])])
    }

    func testSnapshotFinishValues() {
        for finish in [TurnFinish.stop, .length, .cancelled, .error] {
            let entry = Transcript.Entry(id: "t", role: .assistant, author: "m", text: "", turn: "t", model: "m",
                                         streaming: false, finish: finish)
            let messages = object(.snapshot(Snapshot(session: "s", seq: 3, entries: [entry])))["messages"]
            XCTAssertEqual(messages, .array([.object(["id": .string("t"), "role": .string("assistant"), "author": .string("m"),
                                                      "text": .string(""), "turn": .string("t"), "model": .string("m"),
                                                      "streaming": .bool(false), "finish": .string(finish.rawValue)])]))
        }
    }

    func testPresenceHasExactlyTheDocumentedFieldsWithUsersSorted() {
        let update = PresenceUpdate(session: "s1", event: .join, user: "bob", users: [
            PresenceMember(user: "bob", role: "agent"), PresenceMember(user: "alice", role: "user"),
        ])
        XCTAssertEqual(object(.presence(update)), [
            "type": .string("presence"), "session": .string("s1"), "event": .string("join"), "user": .string("bob"),
            "users": .array([
                .object(["user": .string("alice"), "role": .string("user")]),
                .object(["user": .string("bob"), "role": .string("agent")]),
            ]),
        ])
        XCTAssertEqual(String(decoding: ServerFrame.presence(update).encode(), as: UTF8.self),
                       #"{"type":"presence","session":"s1","event":"join","user":"bob","users":[{"user":"alice","role":"user"},{"user":"bob","role":"agent"}]}"#)
        assertTypeFirst(.presence(update), "presence")
        XCTAssertNil(object(.presence(update))["seq"], "presence is not a session event")
    }

    func testPresenceEventNamesAndAnEmptyRoster() {
        for event in [PresenceUpdate.Event.join, .leave, .typing] {
            let members = object(.presence(PresenceUpdate(session: "s", event: event, user: "u", users: [])))
            XCTAssertEqual(members["event"], .string(event.rawValue))
            XCTAssertEqual(members["users"], .array([]))
        }
        XCTAssertEqual([PresenceUpdate.Event.join, .leave, .typing].map(\.rawValue), ["join", "leave", "typing"])
    }

    func testPresenceEscapesUserIds() {
        let update = PresenceUpdate(session: "s", event: .leave, user: "a\"b", users: [PresenceMember(user: "x\ny", role: "user")])
        XCTAssertEqual(object(.presence(update))["user"], .string("a\"b"))
        XCTAssertEqual(object(.presence(update))["users"], .array([.object(["user": .string("x\ny"), "role": .string("user")])]))
    }
}
