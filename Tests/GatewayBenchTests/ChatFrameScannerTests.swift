@testable import GatewayBench
import XCTest

/// The load client's frame reader: the fields it needs, whatever the text around them holds.
final class ChatFrameScannerTests: XCTestCase {
    private func scan(_ text: String) -> ChatFrameFields? {
        Array(text.utf8).withUnsafeBytes { ChatFrameScanner.scan($0) }
    }

    func testReadsTheFieldsOfEachFrameKind() {
        XCTAssertEqual(scan(#"{"type":"joined","session":"s","seq":7,"recovered":false}"#)?.kind, .joined)
        XCTAssertEqual(scan(#"{"type":"joined","session":"s","seq":7,"recovered":false}"#)?.seq, 7)
        let delta = scan(#"{"type":"turn.delta","session":"s","seq":12,"turn":"t","text":"a b","from_seq":9,"ts":1764806400123}"#)
        XCTAssertEqual(delta, ChatFrameFields(kind: .turnDelta, seq: 12, fromSeq: 9, timestamp: 1_764_806_400_123, text: 63..<66))
        let end = scan(#"{"type":"turn.end","session":"s","seq":20,"turn":"t","finish":"error","usage":{"input_tokens":5,"output_tokens":17,"estimated":false},"error":{"code":"upstream_http","message":"x"},"ts":5}"#)
        XCTAssertEqual(end?.kind, .turnEnd)
        XCTAssertEqual(end?.outputTokens, 17)
        XCTAssertNil(end?.errorCode, "a nested error.code is not the frame's code")
        XCTAssertEqual(scan(#"{"type":"error","code":"busy","message":"m","ref":"id"}"#)?.errorCode, "busy")
        XCTAssertEqual(scan(#" { "type" : "ack" , "id" : "m1" , "seq" : 3 } "#)?.seq, 3, "whitespace anywhere")
        XCTAssertEqual(scan(#"{"type":"something.new","seq":1}"#)?.kind, .other)
    }

    func testTextThatLooksLikeFieldsIsSkipped() {
        let tricky = #"{"type":"turn.delta","text":"quote \" then \"seq\":99, \"ts\":1 and {\"type\":\"turn.end\"} \\","seq":4,"nested":{"seq":77,"ts":[1,{"ts":2}]},"ts":1000}"#
        XCTAssertEqual(scan(tricky), ChatFrameFields(kind: .turnDelta, seq: 4, timestamp: 1000, text: 29..<94))
    }

    func testTokenStampsAreReadFromTheText() {
        let frame = #"{"type":"turn.delta","text":"@1764806400123456 @1764806400124000 mail@example.com @12 ","seq":4,"from_seq":3,"ts":1}"#
        let stamps = Array(frame.utf8).withUnsafeBytes { bytes -> [Int] in
            var found: [Int] = []
            guard let text = ChatFrameScanner.scan(bytes)?.text else { return [] }
            ChatFrameScanner.stamps(in: bytes, text) { found.append($0) }
            return found
        }
        XCTAssertEqual(stamps, [1_764_806_400_123_456, 1_764_806_400_124_000], "an @ without 13 digits is text")
    }

    func testMalformedFramesAndNonIntegersAreNotGuessed() {
        XCTAssertNil(scan("not json"))
        XCTAssertNil(scan(#"{"type":"turn.delta","seq":4"#), "cut short")
        XCTAssertNil(scan(#"["type"]"#))
        XCTAssertNil(scan(#"{"type":"turn.delta","text":"never closed}"#))
        XCTAssertNil(scan(#"{"type":"ack","seq":1.5}"#)?.seq)
        XCTAssertNil(scan(#"{"type":"ack","seq":"3"}"#)?.seq)
    }
}
