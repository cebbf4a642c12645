import Foundation
import XCTest
@testable import GatewayCore

/// The streams recorded from a real llama.cpp server (scripts/record-sse-fixtures.sh), decoded by the
/// gateway's pipeline, against an independent reading of the same bytes with Foundation's JSON parser:
/// the text, the usage and the finish reason must agree whatever was recorded.
final class RecordedStreamTests: XCTestCase {
    private struct Expected {
        var text = ""
        var usage: TokenUsage?
        var finish: String?
    }

    /// Reads the body the simple way: LF lines, `data: ` payloads, JSON objects.
    private func independentReading(_ body: [UInt8]) throws -> Expected {
        var expected = Expected()
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where line.hasPrefix("data: ") {
            let payload = line.dropFirst("data: ".count)
            if payload == "[DONE]" { continue }
            let chunk = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
            if let choice = (chunk["choices"] as? [[String: Any]])?.first {
                if let delta = choice["delta"] as? [String: Any], let content = delta["content"] as? String {
                    expected.text += content
                }
                if let finish = choice["finish_reason"] as? String { expected.finish = finish }
            }
            if let usage = chunk["usage"] as? [String: Any],
               let input = usage["prompt_tokens"] as? Int, let output = usage["completion_tokens"] as? Int {
                expected.usage = TokenUsage(inputTokens: input, outputTokens: output, estimated: false)
            }
        }
        return expected
    }

    private func decode(_ body: [UInt8]) -> [ProviderEvent] {
        var parser = SSEParser()
        var decoder = OpenAIStreamDecoder(requestMessages: [ChatMessage(role: .user, content: "recorded")])
        var events: [ProviderEvent] = []
        body.withUnsafeBytes { parser.feed($0) { events += decoder.decode($0.data) } }
        parser.finish { events += decoder.decode($0.data, atEndOfBody: true) }
        return events + decoder.finish()
    }

    private func recorded() throws -> [(name: String, bytes: [UInt8])] {
        try SSEFixtures.all().filter { $0.name.hasPrefix("llamacpp-") }
    }

    func testRecordingsArePresent() throws {
        // usage, length, no-stream-options, unicode: see scripts/record-sse-fixtures.sh.
        XCTAssertGreaterThanOrEqual(try recorded().count, 4)
    }

    func testDecodedStreamsMatchAnIndependentReading() throws {
        for (name, body) in try recorded() {
            let expected = try independentReading(body)
            let events = decode(body)
            var text = ""
            var usages: [TokenUsage] = []
            for case .text(let piece) in events { text += piece }
            for case .usage(let usage) in events { usages.append(usage) }
            XCTAssertFalse(expected.text.isEmpty, "\(name): recorded no text")
            XCTAssertEqual(text, expected.text, name)
            XCTAssertEqual(usages.count, 1, "\(name): exactly one usage event")
            if let real = expected.usage {
                XCTAssertEqual(usages.first, real, name)
            } else {
                XCTAssertEqual(usages.first?.estimated, true, "\(name): no usage recorded, so it is estimated")
            }
            XCTAssertEqual(events.last, .finished(upstreamReason: expected.finish), name)
            XCTAssertEqual(events.filter(\.isTerminal).count, 1, name)
        }
    }

    func testUnicodeRecordingHoldsFourByteAndCJKCharacters() throws {
        let body = try XCTUnwrap(try recorded().first { $0.name == "llamacpp-unicode.txt" }?.bytes)
        let text = try independentReading(body).text
        XCTAssertTrue(text.unicodeScalars.contains { $0.value > 0xFFFF }, "expected a 4-byte character (emoji)")
        XCTAssertTrue(text.unicodeScalars.contains { (0x4E00...0x9FFF).contains($0.value) }, "expected CJK")
    }
}
