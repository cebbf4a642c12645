import XCTest
@testable import GatewayCore

private let requestMessages = [
    ChatMessage(role: .system, content: "You are terse."),
    ChatMessage(role: .user, content: "Say something."),
]

/// The provider's pipeline without the network: SSE parser → decoder → end of body.
private func decodeStream(_ chunks: [[UInt8]]) -> [ProviderEvent] {
    var parser = SSEParser()
    var decoder = OpenAIStreamDecoder(requestMessages: requestMessages)
    var events: [ProviderEvent] = []
    for chunk in chunks {
        chunk.withUnsafeBytes { parser.feed($0) { events += decoder.decode($0.data) } }
    }
    parser.finish { events += decoder.decode($0.data, atEndOfBody: true) }
    return events + decoder.finish()
}

private func decodeStream(_ text: String) -> [ProviderEvent] { decodeStream([Array(text.utf8)]) }

private func estimatedUsage(outputText: String) -> ProviderEvent {
    .usage(TokenUsage(inputTokens: TokenEstimator.inputTokens(of: requestMessages),
                      outputTokens: TokenEstimator.tokens(in: outputText), estimated: true))
}

private func chunk(_ content: String?, finish: String? = nil) -> String {
    let contentJSON = content.map { "{\"content\":\"\($0)\"}" } ?? "{}"
    let finishJSON = finish.map { "\"\($0)\"" } ?? "null"
    return "data: {\"choices\":[{\"index\":0,\"delta\":\(contentJSON),\"finish_reason\":\(finishJSON)}]}\n\n"
}

final class OpenAIStreamDecoderTests: XCTestCase {
    func testUsageOnlyChunkBeforeDone() throws {
        let events = decodeStream([try SSEFixtures.load("handmade-openai-usage.txt")])
        XCTAssertEqual(events, [
            .text("Héllo"), .text(" wörld"), .text(", 世界"), .text(" 🙂"), .text(" done."),
            .usage(TokenUsage(inputTokens: 17, outputTokens: 6, estimated: false)),
            .finished(upstreamReason: "stop"),
        ])
    }

    func testUsageOnFinishChunkAndDoneWithoutBlankLine() throws {
        let events = decodeStream([try SSEFixtures.load("handmade-llamacpp-style.txt")])
        XCTAssertEqual(events, [
            .text("The"), .text(" answer"), .text(" is"), .text(" 42"), .text(" — ok"),
            .usage(TokenUsage(inputTokens: 9, outputTokens: 5, estimated: false)),
            .finished(upstreamReason: "length"),
        ])
    }

    func testInBandErrorAfterText() throws {
        let events = decodeStream([try SSEFixtures.load("handmade-inband-error.txt")])
        XCTAssertEqual(events, [
            .text("Partial"), .text(" answer"),
            estimatedUsage(outputText: "Partial answer"),
            .failed(.upstreamError("The server is overloaded (server_error/503)", overloaded: true)),
        ])
    }

    func testInBandErrorAsString() {
        XCTAssertEqual(decodeStream(chunk("a") + "data: {\"error\": \"boom\"}\n\n").last, .failed(.upstreamError("boom")))
    }

    func testTruncatedMidLineIsTruncationNotMalformed() throws {
        let events = decodeStream([try SSEFixtures.load("handmade-truncated.txt")])
        XCTAssertEqual(events, [.text("Cut"), .text(" short"), estimatedUsage(outputText: "Cut short"),
                                .failed(.upstreamTruncated)])
    }

    func testCleanEndWithoutFinishReasonOrDoneIsTruncated() {
        XCTAssertEqual(decodeStream(chunk("Hi")), [.text("Hi"), estimatedUsage(outputText: "Hi"), .failed(.upstreamTruncated)])
    }

    func testFinishReasonWithoutDoneIsFinished() {
        // Some servers never send [DONE]; a finish_reason means the answer is complete.
        XCTAssertEqual(decodeStream(chunk("Hi") + chunk(nil, finish: "stop")),
                       [.text("Hi"), estimatedUsage(outputText: "Hi"), .finished(upstreamReason: "stop")])
    }

    func testDoneWithoutFinishReason() {
        XCTAssertEqual(decodeStream(chunk("Hi") + "data: [DONE]\n\n"),
                       [.text("Hi"), estimatedUsage(outputText: "Hi"), .finished(upstreamReason: nil)])
    }

    func testMalformedJSONMidStream() {
        let events = decodeStream(chunk("Hi") + "data: {\"choices\": [\n\n" + chunk("never"))
        XCTAssertEqual(events, [.text("Hi"), estimatedUsage(outputText: "Hi"),
                                .failed(.upstreamError("malformed chunk: {\"choices\": ["))])
    }

    func testNonObjectJSONIsMalformed() {
        var decoder = OpenAIStreamDecoder(requestMessages: [])
        XCTAssertEqual(decoder.decode("42").last, .failed(.upstreamError("malformed chunk: 42")))
    }

    func testNullsEmptyContentAndUnknownFieldsProduceNothing() {
        var decoder = OpenAIStreamDecoder(requestMessages: [])
        XCTAssertEqual(decoder.decode(#"{"choices":[{"index":0,"delta":{"content":null,"role":"assistant"},"finish_reason":null}],"usage":null,"error":null}"#), [])
        XCTAssertEqual(decoder.decode(#"{"choices":[{"delta":{"content":""}}],"system_fingerprint":"x","x":{"y":[1,2]}}"#), [])
        XCTAssertEqual(decoder.decode(#"{"choices":[{"index":0,"delta":{"reasoning_content":"hmm"}}]}"#), [])
        XCTAssertEqual(decoder.decode("  "), [])
        XCTAssertEqual(decoder.decode(#"{"choices":[{"index":0,"delta":{"content":"ok"}}]}"#), [.text("ok")])
    }

    func testOnlyTheFirstChoiceIsRelayed() {
        var decoder = OpenAIStreamDecoder(requestMessages: [])
        XCTAssertEqual(decoder.decode(#"{"choices":[{"index":1,"delta":{"content":"B"}},{"index":0,"delta":{"content":"A"}}]}"#),
                       [.text("A")])
    }

    func testUsageIsAssignedNotAddedAndPartialUsageIsCompletedByEstimate() {
        var decoder = OpenAIStreamDecoder(requestMessages: requestMessages)
        _ = decoder.decode(#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#)
        _ = decoder.decode(#"{"choices":[{"index":0,"delta":{"content":"abcdefgh"}}],"usage":{"prompt_tokens":30,"completion_tokens":2}}"#)
        XCTAssertEqual(decoder.usage, TokenUsage(inputTokens: 30, outputTokens: 2, estimated: false))
        _ = decoder.decode(#"{"choices":[],"usage":{"prompt_tokens":31}}"#)
        XCTAssertEqual(decoder.usage, TokenUsage(inputTokens: 31, outputTokens: 2, estimated: true))
    }

    func testNothingAfterTheTerminal() {
        var decoder = OpenAIStreamDecoder(requestMessages: [])
        XCTAssertEqual(decoder.decode("[DONE]").count, 2)
        XCTAssertTrue(decoder.isFinished)
        XCTAssertEqual(decoder.decode(#"{"choices":[{"index":0,"delta":{"content":"late"}}]}"#), [])
        XCTAssertEqual(decoder.finish(), [])
        XCTAssertEqual(decoder.fail(.upstreamTimeout("late")), [])
    }

    func testFinishWithCustomFailureAndFail() {
        var cut = OpenAIStreamDecoder(requestMessages: [])
        _ = cut.decode(#"{"choices":[{"index":0,"delta":{"content":"x"}}]}"#)
        XCTAssertEqual(cut.finish(failure: .upstreamTimeout("slow")).last, .failed(.upstreamTimeout("slow")))

        var complete = OpenAIStreamDecoder(requestMessages: [])
        _ = complete.decode(#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#)
        XCTAssertEqual(complete.finish(failure: .upstreamTimeout("slow")).last, .finished(upstreamReason: "stop"))
    }

    /// The full pipeline gives the same provider events one byte at a time and at every split.
    func testFixturesDecodeIdenticallyAtEverySplit() throws {
        for (name, body) in try SSEFixtures.all() {
            let reference = decodeStream([body])
            XCTAssertTrue(reference.last?.isTerminal ?? false, name)
            XCTAssertEqual(decodeStream(body.map { [$0] }), reference, "\(name): one byte at a time")
            // Every split point through the decoder is costly for long recordings; a stride keeps
            // the test fast while the parser test covers every index.
            let step = max(1, body.count / 400)
            for split in stride(from: 0, through: body.count, by: step) {
                let events = decodeStream([Array(body[..<split]), Array(body[split...])])
                if events != reference {
                    XCTFail("\(name): split at \(split) differs")
                    break
                }
            }
        }
    }
}
