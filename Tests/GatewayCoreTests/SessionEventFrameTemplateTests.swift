import XCTest
@testable import GatewayCore

/// `SessionEventFrameTemplate`: head + seq + middle + ts + `}` must be `SessionEvent.encode` byte for
/// byte, for every body and for seqs and timestamps of every width (Redis splices them in as decimals).
final class SessionEventFrameTemplateTests: XCTestCase {
    private let bodies: [SessionEventBody] = [
        .message(id: "m-1", author: "guest-abc", text: "Hi \"bot\"\n\t\\ 😀 \u{1}"),
        .turnStart(turn: "t-1", model: "demo"),
        .turnStart(turn: "t-1", model: "gpt", route: "code: \"func\"", cached: true),
        .turnDelta(turn: "t-1", text: " world"),
        .turnDelta(turn: "t-1", text: ""),
        .turnEnd(turn: "t-1", finish: .stop, usage: TokenUsage(inputTokens: 31, outputTokens: 60, estimated: false),
                 upstreamFinish: "stop", error: nil),
        .turnEnd(turn: "t", finish: .error, usage: TokenUsage(inputTokens: 0, outputTokens: 0, estimated: true, cached: true),
                 upstreamFinish: nil, error: TurnError(code: "worker_lost", message: "node \"n1\" went away\r\n")),
    ]
    private let numbers: [(seq: Int, ts: Int)] = [(1, 0), (9, 5), (10, 1_700_000_000_123), (123_456_789, 9_999_999_999_999),
                                                  (Int(Int32.max) + 1, 1)]

    func testFilledTemplateIsTheEncodedFrameForEveryBodyAndWidth() {
        for body in bodies {
            let template = SessionEventFrameTemplate(session: "room \"7\"", body: body)
            for (seq, ts) in numbers {
                XCTAssertEqual(String(decoding: template.frame(seq: seq, timestamp: ts), as: UTF8.self),
                               String(decoding: SessionEvent.encode(session: "room \"7\"", seq: seq, fromSeq: nil, timestamp: ts, body: body),
                                      as: UTF8.self), "\(body) at seq \(seq), ts \(ts)")
            }
        }
    }

    func testThePiecesEndWhereTheNumbersGo() {
        let template = SessionEventFrameTemplate(session: "s", body: .turnDelta(turn: "t", text: "x"))
        XCTAssertEqual(String(decoding: template.head, as: UTF8.self), #"{"type":"turn.delta","session":"s","seq":"#)
        XCTAssertEqual(String(decoding: template.middle, as: UTF8.self), #","turn":"t","text":"x","ts":"#)
        XCTAssertEqual(SessionEventFrameTemplate.tail, Array("}".utf8))
    }
}
