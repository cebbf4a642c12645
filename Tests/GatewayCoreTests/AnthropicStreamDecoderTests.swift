import XCTest
@testable import GatewayCore

private let requestMessages = [
    ChatMessage(role: .system, content: "You are terse."),
    ChatMessage(role: .user, content: "Say something."),
]
private let estimatedInput = TokenEstimator.inputTokens(of: requestMessages)

private func decode(_ text: String) -> [ProviderEvent] {
    decodeAnthropic([Array(text.utf8)], requestMessages: requestMessages)
}

private func fixture(_ name: String) throws -> [ProviderEvent] {
    decodeAnthropic([try DialectFixtures.load("anthropic", name)], requestMessages: requestMessages)
}

/// One SSE event as Anthropic writes it.
private func event(_ type: String, _ json: String) -> String { "event: \(type)\ndata: \(json)\n\n" }

private func textDelta(_ text: String, index: Int = 0) -> String {
    event("content_block_delta", #"{"type":"content_block_delta","index":\#(index),"delta":{"type":"text_delta","text":"\#(text)"}}"#)
}

private func messageDelta(stop: String?, usage: String = #"{"output_tokens":3}"#) -> String {
    let reason = stop.map { "\"\($0)\"" } ?? "null"
    return event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":\#(reason),"stop_sequence":null},"usage":\#(usage)}"#)
}

private let messageStart = event("message_start",
    #"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"usage":{"input_tokens":10,"output_tokens":1}}}"#)
private let messageStop = event("message_stop", #"{"type":"message_stop"}"#)

private func errorEvent(_ type: String, _ message: String = "boom") -> String {
    event("error", #"{"type":"error","error":{"type":"\#(type)","message":"\#(message)"}}"#)
}

final class AnthropicStreamDecoderTests: XCTestCase {
    func testDocumentedStreamWithThinkingPingsAndUnknownEvents() throws {
        XCTAssertEqual(try fixture("handmade-api.txt"), [
            .text("Héllo"), .text(" wörld"), .text(", 世界"), .text(" 🙂"), .text(" done."),
            // input 25 + cache creation 0 + cache read 100; output from the last message_delta.
            tokenUsage(125, 15),
            .finished(upstreamReason: "end_turn"),
        ])
    }

    func testOverloadedErrorAfterTextIsRetryable() throws {
        let events = try fixture("handmade-overloaded.txt")
        XCTAssertEqual(events, [
            .text("Partial"), .text(" answer"),
            tokenUsage(12, TokenEstimator.tokens(in: "Partial answer"), estimated: true),
            .failed(.upstreamError("Overloaded (overloaded_error)", overloaded: true)),
        ])
        if case .failed(let error) = events.last { XCTAssertTrue(error.isRetryable) }
    }

    func testCutMidEventIsTruncationNotMalformed() throws {
        XCTAssertEqual(try fixture("handmade-truncated.txt"), [
            .text("Cut"), .text(" short"),
            tokenUsage(12, TokenEstimator.tokens(in: "Cut short"), estimated: true),
            .failed(.upstreamTruncated),
        ])
    }

    func testStopReasonWithoutMessageStopIsFinished() throws {
        // Also: no `event:` lines, `data:` without its space, CRLF line ends.
        XCTAssertEqual(try fixture("handmade-no-message-stop.txt"),
                       [.text("Capped"), tokenUsage(7, 2), .finished(upstreamReason: "max_tokens")])
    }

    func testEveryFixtureDecodesAlikeAtEverySplit() throws {
        let fixtures = try DialectFixtures.all("anthropic")
        XCTAssertGreaterThanOrEqual(fixtures.count, 8, "handmade and recorded fixtures")
        for (name, body) in fixtures {
            let reference = decodeAnthropic([body])
            assertDecoderContract(reference, name)
            let tried = assertEverySplitDecodesAlike(body, reference: reference, name, units: sseUnits) {
                decodeAnthropic(units: $0)
            }
            XCTAssertEqual(tried, body.count + 1)
        }
    }

    /// Every split of every line-end style is the parser's test (SSEParserTests); here the whole
    /// pipeline must give the same events for each style, whole and one byte at a time.
    func testEveryLineEndStyleDecodesAlike() throws {
        for (name, body) in try DialectFixtures.all("anthropic") {
            let reference = decodeAnthropic([body])
            for lineEnd in [[0x0A], [0x0D, 0x0A], [0x0D]] as [[UInt8]] {
                let rewritten = withLineEnds(body, lineEnd)
                XCTAssertEqual(decodeAnthropic([rewritten]), reference, "\(name) \(lineEnd)")
                XCTAssertEqual(decodeAnthropic(rewritten.map { [$0] }), reference, "\(name) \(lineEnd): one byte at a time")
            }
        }
    }

    func testUsageIsAssignedNotAdded() {
        let events = decode(messageStart + textDelta("abc") + messageDelta(stop: nil, usage: #"{"output_tokens":2}"#)
                            + messageDelta(stop: "end_turn", usage: #"{"output_tokens":5}"#) + messageStop)
        // message_start's output_tokens (1) is a placeholder, and 2 then 5 are totals: 5, not 8.
        XCTAssertEqual(events, [.text("abc"), tokenUsage(10, 5), .finished(upstreamReason: "end_turn")])
    }

    func testInputTokensInMessageDeltaReplaceTheStartCount() {
        let usage = #"{"input_tokens":40,"cache_read_input_tokens":2,"output_tokens":3}"#
        XCTAssertEqual(decode(messageStart + messageDelta(stop: "end_turn", usage: usage) + messageStop).dropLast().last,
                       tokenUsage(42, 3))
    }

    func testMissingCountsAreEstimated() {
        let start = event("message_start", #"{"type":"message_start","message":{"id":"m","usage":{"cache_read_input_tokens":9}}}"#)
        let stop = event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn"}}"#)
        XCTAssertEqual(decode(start + textDelta("abcdefgh") + stop + messageStop),
                       [.text("abcdefgh"), tokenUsage(estimatedInput, 2, estimated: true), .finished(upstreamReason: "end_turn")])
        // Only the output reported: the input is estimated, and the whole usage is marked so.
        XCTAssertEqual(decode(textDelta("x") + messageDelta(stop: "end_turn") + messageStop).dropLast().last,
                       tokenUsage(estimatedInput, 3, estimated: true))
    }

    func testOnlyTextDeltasAreText() {
        let toolInput = event("content_block_delta",
                              #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#)
        let untyped = event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"text":"no type"}}"#)
        let events = decode(messageStart + textDelta("") + toolInput + untyped + textDelta("second block", index: 2)
                            + messageDelta(stop: "tool_use") + messageStop)
        XCTAssertEqual(events, [.text("second block"), tokenUsage(10, 3), .finished(upstreamReason: "tool_use")])
    }

    func testPingsStartsStopsAndUnknownEventsProduceNothing() {
        var decoder = AnthropicStreamDecoder(requestMessages: [])
        XCTAssertEqual(decoder.decode(type: "ping", data: #"{"type": "ping"}"#), [])
        XCTAssertEqual(decoder.decode(type: "content_block_start",
                                      data: #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#), [])
        XCTAssertEqual(decoder.decode(type: "content_block_stop", data: #"{"type":"content_block_stop","index":0}"#), [])
        XCTAssertEqual(decoder.decode(type: "brand_new", data: #"{"type":"brand_new","x":[1,{"y":null}]}"#), [])
        XCTAssertEqual(decoder.decode(type: "message", data: "  "), [])
        XCTAssertFalse(decoder.isFinished)
    }

    func testTheEventKindComesFromTheJSONTypeElseFromTheSSEName() {
        var decoder = AnthropicStreamDecoder(requestMessages: [])
        // Mislabelled SSE name: the payload's own type wins.
        XCTAssertEqual(decoder.decode(type: "ping", data: #"{"type":"content_block_delta","delta":{"type":"text_delta","text":"a"}}"#),
                       [.text("a")])
        // No type in the payload: the SSE name decides.
        XCTAssertEqual(decoder.decode(type: "content_block_delta", data: #"{"delta":{"type":"text_delta","text":"b"}}"#), [.text("b")])
        XCTAssertEqual(decoder.decode(type: "message_stop", data: "{}").last, .finished(upstreamReason: nil))
    }

    func testWhichErrorKindsAreRetryable() {
        for kind in ["overloaded_error", "rate_limit_error", "api_error"] {
            XCTAssertEqual(decode(messageStart + errorEvent(kind)).last,
                           .failed(.upstreamError("boom (\(kind))", overloaded: true)), kind)
        }
        for kind in ["invalid_request_error", "authentication_error", "permission_error", "not_found_error", "request_too_large"] {
            XCTAssertEqual(decode(messageStart + errorEvent(kind)).last, .failed(.upstreamError("boom (\(kind))")), kind)
        }
    }

    func testErrorShapesWithoutTheUsualFields() {
        XCTAssertEqual(decode(event("error", #"{"type":"error"}"#)).last,
                       .failed(.upstreamError("the upstream sent an error event without details")))
        XCTAssertEqual(decode(event("error", #"{"type":"error","error":"model busy"}"#)).last,
                       .failed(.upstreamError("model busy", overloaded: true)))
        // An error relabelled by a proxy (no `error` type anywhere) is still a failure.
        XCTAssertEqual(decode(textDelta("a") + "data: {\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n").last,
                       .failed(.upstreamError("Overloaded (overloaded_error)", overloaded: true)))
    }

    func testMalformedJSONMidStream() {
        XCTAssertEqual(decode(textDelta("Hi") + "event: content_block_delta\ndata: {\"type\":\n\n" + textDelta("never")),
                       [.text("Hi"), tokenUsage(estimatedInput, 1, estimated: true),
                        .failed(.upstreamError("malformed event: {\"type\":"))])
        var decoder = AnthropicStreamDecoder(requestMessages: [])
        XCTAssertEqual(decoder.decode(type: "message", data: "[1, 2]").last, .failed(.upstreamError("malformed event: [1, 2]")))
    }

    func testCleanEndWithoutStopReasonIsTruncated() {
        XCTAssertEqual(decode(messageStart + textDelta("Hi")).last, .failed(.upstreamTruncated))
        XCTAssertEqual(decode("").last, .failed(.upstreamTruncated))
    }

    func testFinishWithCustomFailure() {
        var cut = AnthropicStreamDecoder(requestMessages: [])
        _ = cut.decode(type: "content_block_delta", data: #"{"type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}"#)
        XCTAssertFalse(cut.sawStopReason)
        XCTAssertEqual(cut.finish(failure: .upstreamTimeout("slow")).last, .failed(.upstreamTimeout("slow")))

        var complete = AnthropicStreamDecoder(requestMessages: [])
        _ = complete.decode(type: "message_delta", data: #"{"type":"message_delta","delta":{"stop_reason":"end_turn"}}"#)
        XCTAssertTrue(complete.sawStopReason)
        XCTAssertEqual(complete.finish(failure: .upstreamTimeout("slow")).last, .finished(upstreamReason: "end_turn"))
    }

    func testNothingAfterTheTerminal() {
        var decoder = AnthropicStreamDecoder(requestMessages: [])
        XCTAssertEqual(decoder.decode(type: "message_stop", data: #"{"type":"message_stop"}"#).count, 2)
        XCTAssertTrue(decoder.isFinished)
        XCTAssertEqual(decoder.decode(type: "content_block_delta",
                                      data: #"{"type":"content_block_delta","delta":{"type":"text_delta","text":"late"}}"#), [])
        XCTAssertEqual(decoder.decode(type: "error", data: #"{"type":"error","error":{"type":"api_error"}}"#), [])
        XCTAssertEqual(decoder.finish(), [])
        XCTAssertEqual(decoder.fail(.upstreamTimeout("late")), [])
    }

    func testFailEndsWithUsageThenTheError() {
        var decoder = AnthropicStreamDecoder(requestMessages: requestMessages)
        _ = decoder.decode(type: "message_delta", data: #"{"type":"message_delta","delta":{"stop_reason":"end_turn"}}"#)
        XCTAssertEqual(decoder.fail(.idleTimeout("quiet")),
                       [tokenUsage(estimatedInput, 0, estimated: true), .failed(.idleTimeout("quiet"))])
    }
}
