import XCTest
@testable import GatewayCore

/// `SessionEvent(decoding:)`: every event read back from its frame equals the event, with the frame
/// kept verbatim; frames that are not log events are refused with the reason.
final class SessionEventDecodingTests: XCTestCase {
    private let bodies: [SessionEventBody] = [
        .message(id: "m-1", author: "guest-abc", text: "Hi \"bot\"\n\t\\ 😀 \u{1}/"),
        .turnStart(turn: "t-1", model: "demo"),
        .turnStart(turn: "t-1", model: "gpt", route: "code", cached: true),
        .turnDelta(turn: "t-1", text: " world"),
        .turnEnd(turn: "t-1", finish: .length, usage: TokenUsage(inputTokens: 31, outputTokens: 60, estimated: false),
                 upstreamFinish: "length", error: nil),
        .turnEnd(turn: "t", finish: .error, usage: TokenUsage(inputTokens: 0, outputTokens: 0, estimated: true, cached: true),
                 upstreamFinish: nil, error: TurnError(code: "worker_lost", message: "gone")),
        .turnEnd(turn: "t", finish: .cancelled, usage: TokenUsage(inputTokens: 3, outputTokens: 1, estimated: true),
                 upstreamFinish: nil, error: nil),
    ]

    func testEveryBodyRoundTrips() throws {
        for (index, body) in bodies.enumerated() {
            let event = SessionEvent(session: "s-\(index)", seq: index + 1, timestamp: 1_700_000_000_000 + index, body: body)
            let decoded = try SessionEvent(decoding: event.encoded)
            XCTAssertEqual(decoded, event)
            XCTAssertEqual(decoded.body, body)
        }
    }

    func testTheFrameIsKeptVerbatim() throws {
        // Escapes another encoder might choose (`\/`, `\u00e9`) decode to the same text, and the bytes stay as sent.
        let frame = Array(#"{"type":"turn.delta","session":"s","seq":3,"turn":"t","text":"a\/b \u00e9","ts":7}"#.utf8)
        let event = try SessionEvent(decoding: frame)
        XCTAssertEqual(event.body, .turnDelta(turn: "t", text: "a/b é"))
        XCTAssertEqual(event.seq, 3)
        XCTAssertEqual(event.timestamp, 7)
        XCTAssertEqual(event.encoded, frame)
    }

    func testFramesThatAreNotLogEventsAreRefused() {
        let refused: [(String, String)] = [
            (#"{"type":"turn.delta","session":"s","seq":5,"turn":"t","text":"ab","from_seq":4,"ts":1}"#, "merged"),
            (#"{"type":"snapshot","session":"s","seq":5,"messages":[]}"#, "unknown type"),
            (#"{"type":"message","session":"s","seq":1,"id":"m","role":"assistant","author":"a","text":"x","ts":1}"#, "role"),
            (#"{"type":"turn.start","session":"s","seq":"2","turn":"t","model":"m","ts":1}"#, "seq has the wrong type"),
            (#"{"type":"turn.start","session":"s","seq":2,"turn":"t","ts":1}"#, "no model"),
            (#"{"type":"turn.end","session":"s","seq":2,"turn":"t","finish":"done","usage":{"input_tokens":1,"output_tokens":1,"estimated":true},"ts":1}"#, "finish"),
            (#"{"type":"turn.end","session":"s","seq":2,"turn":"t","finish":"stop","usage":{"input_tokens":1,"estimated":true},"ts":1}"#, "no usage.output_tokens"),
            (#"[1,2]"#, "not a JSON object"),
            (#"{"type":"turn.delta""#, "invalid JSON"),
        ]
        for (frame, reason) in refused {
            XCTAssertThrowsError(try SessionEvent(decoding: Array(frame.utf8)), frame) { error in
                XCTAssertTrue(String(describing: error).contains(reason), "\(error) should mention \(reason)")
            }
        }
    }
}
