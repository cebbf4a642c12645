import Foundation
import XCTest
@testable import GatewayCore

/// The Anthropic-format streams recorded from a real llama.cpp server (scripts/record-sse-fixtures.sh),
/// decoded by the gateway's pipeline, against an independent reading of the same bytes with
/// Foundation's JSON parser: the text, the usage and the stop reason must agree whatever was recorded.
final class AnthropicRecordedStreamTests: XCTestCase {
    private struct Expected {
        var text = ""
        var input: Int?
        var output: Int?
        var stopReason: String?
        var sawMessageStop = false
    }

    /// Reads the body the simple way: LF lines, `data: ` payloads, JSON objects by their `type`.
    private func independentReading(_ body: [UInt8]) throws -> Expected {
        var expected = Expected()
        func readUsage(_ usage: [String: Any]?, output: Bool) {
            guard let usage else { return }
            if let input = usage["input_tokens"] as? Int {
                // Anthropic and llama.cpp count cached prompt tokens apart; the prompt is their sum.
                expected.input = input + (usage["cache_read_input_tokens"] as? Int ?? 0)
                    + (usage["cache_creation_input_tokens"] as? Int ?? 0)
            }
            if output, let count = usage["output_tokens"] as? Int { expected.output = count }
        }
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where line.hasPrefix("data: ") {
            let payload = Data(line.dropFirst("data: ".count).utf8)
            let event = try XCTUnwrap(JSONSerialization.jsonObject(with: payload) as? [String: Any])
            switch event["type"] as? String {
            case "message_start":
                readUsage((event["message"] as? [String: Any])?["usage"] as? [String: Any], output: false)
            case "content_block_delta":
                let delta = try XCTUnwrap(event["delta"] as? [String: Any])
                if delta["type"] as? String == "text_delta" { expected.text += delta["text"] as? String ?? "" }
            case "message_delta":
                expected.stopReason = (event["delta"] as? [String: Any])?["stop_reason"] as? String ?? expected.stopReason
                readUsage(event["usage"] as? [String: Any], output: true)
            case "message_stop":
                expected.sawMessageStop = true
            default:
                break
            }
        }
        return expected
    }

    private func recorded() throws -> [(name: String, bytes: [UInt8])] {
        try DialectFixtures.all("anthropic").filter { $0.name.hasPrefix("llamacpp-") }
    }

    func testRecordingsArePresent() throws {
        // end-turn, max-tokens, unicode, history: see scripts/record-sse-fixtures.sh.
        XCTAssertEqual(try recorded().count, 4)
    }

    func testDecodedStreamsMatchAnIndependentReading() throws {
        for (name, body) in try recorded() {
            let expected = try independentReading(body)
            XCTAssertTrue(expected.sawMessageStop, "\(name): a complete recording")
            XCTAssertFalse(expected.text.isEmpty, "\(name): recorded no text")
            let input = try XCTUnwrap(expected.input, "\(name): llama.cpp reports input usage")
            let output = try XCTUnwrap(expected.output, "\(name): llama.cpp reports output usage")

            let events = decodeAnthropic([body])
            var text = ""
            for case .text(let piece) in events { text += piece }
            XCTAssertEqual(text, expected.text, name)
            XCTAssertEqual(Array(events.suffix(2)),
                           [tokenUsage(input, output), .finished(upstreamReason: expected.stopReason)], name)
            assertDecoderContract(events, name)
        }
    }

    func testRecordedStopReasonsMapToTheClientsFinish() throws {
        func finish(_ name: String) throws -> TurnFinish {
            let body = try DialectFixtures.load("anthropic", name)
            guard case .finished(let reason)? = decodeAnthropic([body]).last else {
                XCTFail("\(name) did not finish")
                return .error
            }
            return TurnFinish(upstreamReason: reason)
        }
        XCTAssertEqual(try finish("llamacpp-end-turn.txt"), .stop)
        XCTAssertEqual(try finish("llamacpp-max-tokens.txt"), .length)
    }

    func testUnicodeRecordingHoldsFourByteAndNonASCIICharacters() throws {
        let body = try DialectFixtures.load("anthropic", "llamacpp-unicode.txt")
        let text = try independentReading(body).text
        XCTAssertTrue(text.unicodeScalars.contains { $0.value > 0xFFFF }, "expected a 4-byte character (emoji)")
        XCTAssertTrue(text.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) }, "expected CJK")
        XCTAssertTrue(text.contains("ç"), "expected a 2-byte character")
    }
}
