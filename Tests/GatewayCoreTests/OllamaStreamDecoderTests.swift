import XCTest
@testable import GatewayCore

private let requestMessages = [
    ChatMessage(role: .system, content: "You are terse."),
    ChatMessage(role: .user, content: "Say something."),
]
private let estimatedInput = TokenEstimator.inputTokens(of: requestMessages)

private func decode(_ text: String) -> [ProviderEvent] {
    decodeOllama([Array(text.utf8)], requestMessages: requestMessages)
}

private func fixture(_ name: String) throws -> [ProviderEvent] {
    decodeOllama([try DialectFixtures.load("ollama", name)], requestMessages: requestMessages)
}

private func part(_ text: String) -> String {
    #"{"model":"m","created_at":"2024-01-01T00:00:00Z","message":{"role":"assistant","content":"\#(text)"},"done":false}"# + "\n"
}

private func done(_ reason: String = "stop", counts: String = #","prompt_eval_count":20,"eval_count":4"#) -> String {
    #"{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"\#(reason)""# + counts + "}\n"
}

final class OllamaStreamDecoderTests: XCTestCase {
    private static let stopText = ["The", " sky", " is", " blüe", " — 空", " 🙂"].map { ProviderEvent.text($0) }

    func testDocumentedStream() throws {
        XCTAssertEqual(try fixture("handmade-stop.txt"),
                       Self.stopText + [tokenUsage(26, 6), .finished(upstreamReason: "stop")])
    }

    func testCRLFLineEndsChangeNothing() throws {
        XCTAssertEqual(try fixture("handmade-stop-crlf.txt"), try fixture("handmade-stop.txt"))
    }

    func testLengthWithBlankLinesAndNoFinalNewline() throws {
        XCTAssertEqual(try fixture("handmade-length-no-final-newline.txt"),
                       [.text("Once"), .text(" upon"), .text(" a"), tokenUsage(26, 6), .finished(upstreamReason: "length")])
    }

    func testBusyErrorLineAfterTextIsRetryable() throws {
        XCTAssertEqual(try fixture("handmade-error.txt"), [
            .text("Partial"), .text(" answer"),
            tokenUsage(estimatedInput, TokenEstimator.tokens(in: "Partial answer"), estimated: true),
            .failed(.upstreamError("server busy, please try again.  maximum pending requests exceeded", overloaded: true)),
        ])
    }

    func testCutMidLineIsTruncationNotMalformed() throws {
        XCTAssertEqual(try fixture("handmade-truncated.txt"), [
            .text("Cut"), .text(" short"),
            tokenUsage(estimatedInput, TokenEstimator.tokens(in: "Cut short"), estimated: true),
            .failed(.upstreamTruncated),
        ])
    }

    func testPromptFromOllamasCacheHasItsInputEstimated() throws {
        XCTAssertEqual(try fixture("handmade-cached-prompt.txt"),
                       [.text("Again"), tokenUsage(estimatedInput, 1, estimated: true), .finished(upstreamReason: "stop")])
    }

    func testEveryFixtureDecodesAlikeAtEverySplit() throws {
        let fixtures = try DialectFixtures.all("ollama")
        XCTAssertGreaterThanOrEqual(fixtures.count, 6)
        for (name, body) in fixtures {
            let reference = decodeOllama([body])
            assertDecoderContract(reference, name)
            let tried = assertEverySplitDecodesAlike(body, reference: reference, name, units: ndjsonUnits) {
                decodeOllama(units: $0)
            }
            XCTAssertEqual(tried, body.count + 1)
        }
    }

    func testErrorsThatARetryCannotCure() {
        XCTAssertEqual(decode(part("a") + #"{"error":"model requires more system memory (9.4 GiB) than is available (4.1 GiB)"}"# + "\n").last,
                       .failed(.upstreamError("model requires more system memory (9.4 GiB) than is available (4.1 GiB)")))
        // The object form some proxies use.
        XCTAssertEqual(decode(#"{"error":{"message":"bad","type":"invalid_request_error"}}"#).last,
                       .failed(.upstreamError("bad (invalid_request_error)")))
    }

    func testMalformedLinesMidStream() {
        XCTAssertEqual(decode(part("Hi") + "{\"message\":\n" + part("never")),
                       [.text("Hi"), tokenUsage(estimatedInput, 1, estimated: true),
                        .failed(.upstreamError("malformed line: {\"message\":"))])
        for line in ["42", "[1]", "\"text\"", "data: {}"] {
            var decoder = OllamaStreamDecoder(requestMessages: [])
            XCTAssertEqual(decoder.decode(line).last, .failed(.upstreamError("malformed line: \(line)")), line)
        }
    }

    func testEndWithoutDoneIsTruncatedEvenAfterADoneFalseLine() {
        XCTAssertEqual(decode(part("Hi") + #"{"done":false,"done_reason":"stop"}"# + "\n").last, .failed(.upstreamTruncated))
        XCTAssertEqual(decode("").last, .failed(.upstreamTruncated))
    }

    func testTheDoneObjectsOwnTextComesBeforeUsage() {
        let last = #"{"message":{"role":"assistant","content":" end"},"done":true,"done_reason":"stop","prompt_eval_count":3,"eval_count":2}"#
        XCTAssertEqual(decode(part("The") + last),
                       [.text("The"), .text(" end"), tokenUsage(3, 2), .finished(upstreamReason: "stop")])
    }

    func testDoneWithoutReasonAndUnknownFields() {
        let line = #"{"message":{"role":"assistant","content":"","thinking":"hmm","tool_calls":[]},"done":true,"x":{"y":null}}"#
        XCTAssertEqual(decode(line),
                       [tokenUsage(estimatedInput, 0, estimated: true), .finished(upstreamReason: nil)])
        var decoder = OllamaStreamDecoder(requestMessages: [])
        XCTAssertEqual(decoder.decode(#"{"message":{"role":"assistant","content":null,"thinking":"hmm"},"done":false}"#), [])
        XCTAssertEqual(decoder.decode("   "), [])
    }

    func testUsageCountsAreAssignedFromTheDoneObjectOnly() {
        XCTAssertEqual(decode(part("abcdefgh") + done("length", counts: #","eval_count":9"#)).dropLast().last,
                       tokenUsage(estimatedInput, 9, estimated: true))
        XCTAssertEqual(decode(part("abcdefgh") + done()).dropLast().last, tokenUsage(20, 4))
    }

    func testNothingAfterTheTerminal() {
        var decoder = OllamaStreamDecoder(requestMessages: [])
        XCTAssertEqual(decoder.decode(done()).count, 2)
        XCTAssertTrue(decoder.isFinished)
        XCTAssertEqual(decoder.decode(part("late")), [])
        XCTAssertEqual(decoder.decode(#"{"error":"late"}"#), [])
        XCTAssertEqual(decoder.finish(), [])
        XCTAssertEqual(decoder.fail(.upstreamTimeout("late")), [])
    }

    func testFinishAndFailWithCustomErrors() {
        var cut = OllamaStreamDecoder(requestMessages: [])
        _ = cut.decode(part("x"))
        XCTAssertEqual(cut.finish(failure: .upstreamTimeout("slow")).last, .failed(.upstreamTimeout("slow")))
        var failed = OllamaStreamDecoder(requestMessages: [])
        XCTAssertEqual(failed.fail(.idleTimeout("quiet")), [tokenUsage(0, 0, estimated: true), .failed(.idleTimeout("quiet"))])
    }
}
