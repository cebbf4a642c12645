import XCTest
@testable import GatewayCore

/// Session events as they go on the wire: exactly the fields of docs/protocol.md, `type` first,
/// encoded once at append.
final class SessionEventTests: XCTestCase {
    private func object(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> [String: JSONValue] {
        guard case .object(let members)? = try? JSONValue.parse(bytes) else {
            XCTFail("not a JSON object: \(String(decoding: bytes, as: UTF8.self))", file: file, line: line)
            return [:]
        }
        return members
    }

    private func event(_ body: SessionEventBody, seq: Int = 4, ts: Int = 1_700_000_000_123) -> SessionEvent {
        SessionEvent(session: "s1", seq: seq, timestamp: ts, body: body)
    }

    func testMessage() {
        let e = event(.message(id: "m-1", author: "guest-abc", text: "Hi \"bot\"\n😀"))
        XCTAssertEqual(object(e.encoded), [
            "type": .string("message"), "session": .string("s1"), "seq": .int(4), "id": .string("m-1"),
            "role": .string("user"), "author": .string("guest-abc"), "text": .string("Hi \"bot\"\n😀"),
            "ts": .int(1_700_000_000_123),
        ])
        XCTAssertTrue(String(decoding: e.encoded, as: UTF8.self).hasPrefix("{\"type\":\"message\","))
    }

    func testTurnStart() {
        XCTAssertEqual(object(event(.turnStart(turn: "t-1", model: "demo")).encoded), [
            "type": .string("turn.start"), "session": .string("s1"), "seq": .int(4), "turn": .string("t-1"),
            "model": .string("demo"), "ts": .int(1_700_000_000_123),
        ])
    }

    func testTurnDeltaWithoutFromSeq() {
        let e = event(.turnDelta(turn: "t-1", text: " world"), seq: 9)
        XCTAssertEqual(object(e.encoded), [
            "type": .string("turn.delta"), "session": .string("s1"), "seq": .int(9), "turn": .string("t-1"),
            "text": .string(" world"), "ts": .int(1_700_000_000_123),
        ])
        XCTAssertEqual(e.encoded, SessionEvent.encode(session: "s1", seq: 9, fromSeq: nil, timestamp: 1_700_000_000_123,
                                                      body: .turnDelta(turn: "t-1", text: " world")))
    }

    func testTurnDeltaWithFromSeq() {
        let bytes = SessionEvent.encode(session: "s1", seq: 12, fromSeq: 7, timestamp: 5, body: .turnDelta(turn: "t-1", text: "abc"))
        XCTAssertEqual(object(bytes), [
            "type": .string("turn.delta"), "session": .string("s1"), "seq": .int(12), "turn": .string("t-1"),
            "text": .string("abc"), "from_seq": .int(7), "ts": .int(5),
        ])
    }

    func testTurnEndWithUsageAndUpstreamFinish() {
        let usage = TokenUsage(inputTokens: 31, outputTokens: 60, estimated: false)
        let e = event(.turnEnd(turn: "t-1", finish: .stop, usage: usage, upstreamFinish: "stop", error: nil))
        XCTAssertEqual(object(e.encoded), [
            "type": .string("turn.end"), "session": .string("s1"), "seq": .int(4), "turn": .string("t-1"),
            "finish": .string("stop"),
            "usage": .object(["input_tokens": .int(31), "output_tokens": .int(60), "estimated": .bool(false)]),
            "upstream_finish": .string("stop"), "ts": .int(1_700_000_000_123),
        ])
    }

    func testTurnEndWithoutUpstreamFinishOrError() {
        let usage = TokenUsage(inputTokens: 0, outputTokens: 3, estimated: true)
        XCTAssertEqual(object(event(.turnEnd(turn: "t", finish: .cancelled, usage: usage, upstreamFinish: nil, error: nil)).encoded), [
            "type": .string("turn.end"), "session": .string("s1"), "seq": .int(4), "turn": .string("t"),
            "finish": .string("cancelled"),
            "usage": .object(["input_tokens": .int(0), "output_tokens": .int(3), "estimated": .bool(true)]),
            "ts": .int(1_700_000_000_123),
        ])
    }

    func testTurnEndWithError() {
        let usage = TokenUsage(inputTokens: 10, outputTokens: 2, estimated: true)
        let error = TurnError.upstreamHTTP(status: 503, detail: "{\"error\":\"loading model\"}")
        let fields = object(event(.turnEnd(turn: "t", finish: .error, usage: usage, upstreamFinish: nil, error: error)).encoded)
        XCTAssertEqual(fields, [
            "type": .string("turn.end"), "session": .string("s1"), "seq": .int(4), "turn": .string("t"),
            "finish": .string("error"),
            "usage": .object(["input_tokens": .int(10), "output_tokens": .int(2), "estimated": .bool(true)]),
            "error": .object(["code": .string("upstream_http"),
                              "message": .string("upstream answered HTTP 503: {\"error\":\"loading model\"}")]),
            "ts": .int(1_700_000_000_123),
        ])
        let truncated = object(event(.turnEnd(turn: "t", finish: .error, usage: usage, upstreamFinish: nil,
                                              error: .upstreamTruncated)).encoded)
        XCTAssertEqual(truncated["error"]?["code"], .string("upstream_truncated"))
    }

    func testTurnEndLengthKeepsUpstreamFinish() {
        let usage = TokenUsage(inputTokens: 1, outputTokens: 256, estimated: false)
        let fields = object(event(.turnEnd(turn: "t", finish: .length, usage: usage, upstreamFinish: "length", error: nil)).encoded)
        XCTAssertEqual(fields["finish"], .string("length"))
        XCTAssertEqual(fields["upstream_finish"], .string("length"))
        let other = object(event(.turnEnd(turn: "t", finish: .stop, usage: usage, upstreamFinish: "content_filter", error: nil)).encoded)
        XCTAssertEqual(other["finish"], .string("stop"))
        XCTAssertEqual(other["upstream_finish"], .string("content_filter"))
    }

    func testFinishRawValues() {
        XCTAssertEqual(TurnFinish.stop.rawValue, "stop")
        XCTAssertEqual(TurnFinish.length.rawValue, "length")
        XCTAssertEqual(TurnFinish.cancelled.rawValue, "cancelled")
        XCTAssertEqual(TurnFinish.error.rawValue, "error")
    }

    func testTypeNames() {
        XCTAssertEqual(SessionEventBody.message(id: "", author: "", text: "").typeName, "message")
        XCTAssertEqual(SessionEventBody.turnStart(turn: "", model: "").typeName, "turn.start")
        XCTAssertEqual(SessionEventBody.turnDelta(turn: "", text: "").typeName, "turn.delta")
        XCTAssertEqual(SessionEventBody.turnEnd(turn: "", finish: .stop, usage: TokenUsage(inputTokens: 0, outputTokens: 0, estimated: false),
                                                upstreamFinish: nil, error: nil).typeName, "turn.end")
    }

    func testEventKeepsItsParts() {
        let body = SessionEventBody.turnDelta(turn: "t", text: "x")
        let e = SessionEvent(session: "room", seq: 77, timestamp: 99, body: body)
        XCTAssertEqual(e.session, "room")
        XCTAssertEqual(e.seq, 77)
        XCTAssertEqual(e.timestamp, 99)
        XCTAssertEqual(e.body, body)
        XCTAssertEqual(object(e.encoded)["session"], .string("room"))
    }

    func testTextRoundTripsThroughEncoding() {
        for text in ["", "\"", "\\", "a\u{0}b", "\r\n\t", "é😀中", "\u{2028}", "</script>", "{\"type\":\"x\"}"] {
            let bytes = event(.turnDelta(turn: "t\"1", text: text)).encoded
            XCTAssertEqual(object(bytes)["text"], .string(text))
            XCTAssertEqual(object(bytes)["turn"], .string("t\"1"))
        }
    }

    func testLargeSeqAndTimestamp() {
        let e = SessionEvent(session: "s", seq: Int.max, timestamp: Int.max, body: .turnStart(turn: "t", model: "m"))
        XCTAssertEqual(object(e.encoded)["seq"], .int(Int.max))
        XCTAssertEqual(object(e.encoded)["ts"], .int(Int.max))
    }
}
