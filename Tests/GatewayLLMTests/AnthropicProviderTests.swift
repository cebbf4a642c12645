import Foundation
import GatewayCore
import GatewayLLM
import XCTest

/// `UpstreamProvider<AnthropicDialect>` against the scripted upstream's `/v1/messages`: what each
/// upstream behaviour turns into as `ProviderEvent`s, and that every stream ends exactly once.
final class AnthropicProviderTests: ScriptedProviderTestCase {
    private func provider(_ model: String, apiKey: String? = nil, baseURL: String? = nil,
                          totalTimeout: Duration = .seconds(30)) -> AnthropicProvider {
        AnthropicProvider(baseURL: baseURL ?? upstream.rootURL, model: model, apiKey: apiKey,
                          settings: Self.settings(totalTimeout: totalTimeout), client: client)
    }

    private func run(_ model: String, totalTimeout: Duration = .seconds(30), file: StaticString = #filePath,
                     line: UInt = #line) -> ProviderEventRecorder {
        setUpFreshClient()
        return streamToEnd(provider(model, totalTimeout: totalTimeout), model, file: file, line: line)
    }

    func testOkStreamsTextThenTheCumulativeUsageAndEndTurn() {
        // message_start says input 11 / output 1 and message_delta input 11 / output 5: assigned, not added.
        XCTAssertEqual(run("ok:tokens=5").events, Self.tokens(5) + [
            .usage(TokenUsage(inputTokens: 11, outputTokens: 5, estimated: false)),
            .finished(upstreamReason: "end_turn"),
        ])
    }

    func testMaxTokensIsPassedOnAndMapsToLength() {
        let recorder = run("length:tokens=3")
        XCTAssertEqual(recorder.events, Self.tokens(3) + [
            .usage(TokenUsage(inputTokens: 11, outputTokens: 3, estimated: false)),
            .finished(upstreamReason: "max_tokens"),
        ])
        guard case .finished(let reason)? = recorder.events.last else { return XCTFail("not finished") }
        XCTAssertEqual(TurnFinish(upstreamReason: reason), .length)
    }

    func testWithoutUsageItIsEstimated() {
        let recorder = run("nousage:tokens=2")
        XCTAssertEqual(recorder.usages.map(\.estimated), [true])
        XCTAssertEqual(recorder.events.last, .finished(upstreamReason: "end_turn"))
    }

    func testTruncatedStreamFailsAfterItsText() {
        for model in ["truncate:after=3", "truncate:after=3:abrupt=1"] {
            let recorder = run(model)
            XCTAssertEqual(recorder.texts, ["tok0 ", "tok1 ", "tok2 "], model)
            // message_start reported the input; the output is estimated, so the whole usage is marked so.
            XCTAssertEqual(recorder.usages.map(\.inputTokens), [11], model)
            XCTAssertEqual(recorder.usages.map(\.estimated), [true], model)
            XCTAssertEqual(recorder.failure?.code, "upstream_truncated", "\(model): \(recorder.events)")
        }
    }

    func testOverloadedErrorEventFailsRetryablyAfterItsText() {
        let recorder = run("inband-error:after=3")
        XCTAssertEqual(recorder.texts, ["tok0 ", "tok1 ", "tok2 "])
        XCTAssertEqual(recorder.failure, .upstreamError("scripted in-band failure (overloaded_error)", overloaded: true))

        let notRetryable = run("inband-error:after=0:overloaded=0")
        XCTAssertEqual(notRetryable.failure, .upstreamError("scripted in-band failure (invalid_request_error)"))
    }

    func testHTTPErrorsCarryAnthropicsMessageAndRetryHint() throws {
        let internalError = run("http-500")
        XCTAssertEqual(internalError.events.count, 1, "no text and no usage for a non-2xx answer: \(internalError.events)")
        XCTAssertEqual(internalError.failure,
                       .upstreamHTTP(status: 500, detail: "scripted internal error (api_error)"))

        XCTAssertEqual(run("http-429:retry=seconds").failure?.retry, .allowed(afterMillis: 1000))
        XCTAssertEqual(run("http-429:retry=ms").failure?.retry, .allowed(afterMillis: 300))
        let dated = run("http-429:retry=date").failure
        XCTAssertEqual(dated?.code, "upstream_http")
        guard case .allowed(let millis?)? = dated?.retry else { return XCTFail("no retry hint: \(String(describing: dated))") }
        XCTAssertTrue((1...2000).contains(millis), "an HTTP-date 1 to 2 s ahead: \(millis) ms")
        let overloaded = run("http-529")
        XCTAssertEqual(overloaded.failure?.retry, .allowed(afterMillis: nil))
        XCTAssertTrue(overloaded.failure?.message.contains("overloaded_error") == true, "\(overloaded.events)")
    }

    func testEchoShowsTheSystemFieldAlternatingMessagesAndHeaders() throws {
        setUpFreshClient()
        let recorder = streamToEnd(provider("echo:tag=echo", apiKey: "sk-ant-test"), "echo")
        XCTAssertEqual(recorder.texts.joined(), "please echo this back")

        let entry = try XCTUnwrap(upstream.requestLog().first)
        XCTAssertEqual(entry["path"] as? String, "/v1/messages")
        XCTAssertEqual(entry["format"] as? String, "anthropic")
        XCTAssertEqual(entry["system"] as? String, "You are terse.")
        let sent = try XCTUnwrap(entry["messages"] as? [[String: String]])
        XCTAssertEqual(sent, Self.conversation.dropFirst().map { ["role": $0.role.rawValue, "content": $0.content] })
        let body = try XCTUnwrap(entry["request"] as? [String: Any])
        XCTAssertEqual(body["max_tokens"] as? Int, AnthropicRequestBuilder.defaultMaxTokens)
        XCTAssertEqual(body["stream"] as? Bool, true)
        let headers = try XCTUnwrap(entry["headers"] as? [String: String])
        XCTAssertEqual(headers["x-api-key"], "sk-ant-test")
        XCTAssertEqual(headers["anthropic-version"], "2023-06-01")
        XCTAssertEqual(headers["accept"], "text/event-stream")
        XCTAssertNil(headers["expect"], "curl must not wait for 100 Continue")
        // The script's own count: len(content) // 4 + 4 per message, the system field included.
        let promptTokens = Self.conversation.reduce(0) { $0 + $1.content.count / 4 + 4 }
        XCTAssertEqual(recorder.usages, [TokenUsage(inputTokens: promptTokens, outputTokens: 4, estimated: false)])
    }

    func testNoAPIKeyHeaderWithoutAKey() throws {
        setUpFreshClient()
        _ = streamToEnd(provider("ok:tokens=1"), "ok")
        let headers = try XCTUnwrap(upstream.requestLog().first?["headers"] as? [String: String])
        XCTAssertNil(headers["x-api-key"])
    }

    func testAwkwardlySplitStreamIsReassembledExactly() {
        let recorder = run("split")
        XCTAssertEqual(recorder.texts, ["Split", " héllo", " 世界", " 🙂", " end"], "one event per text delta")
        XCTAssertEqual(recorder.usages, [TokenUsage(inputTokens: 11, outputTokens: 5, estimated: false)])
        XCTAssertEqual(recorder.events.last, .finished(upstreamReason: "end_turn"))
    }

    func testFailuresBeforeAnyResponse() throws {
        let reset = run("reset")
        XCTAssertEqual(reset.events.count, 1, "\(reset.events)")
        XCTAssertEqual(reset.failure?.code, "upstream_error")
        XCTAssertTrue(reset.failure?.message.contains("reset") == true, "a real RST: \(reset.events)")
        XCTAssertEqual(reset.failure?.isRetryable, true, "nothing was relayed, so a retry is safe")

        let silent = run("stall-headers", totalTimeout: .milliseconds(500))
        XCTAssertEqual(silent.failure?.code, "upstream_timeout", "\(silent.events)")

        let port = try Loopback.unusedPort()
        setUpFreshClient()
        let unreachable = streamToEnd(provider("ok", baseURL: "http://127.0.0.1:\(port)"), "unreachable")
        XCTAssertEqual(unreachable.failure?.code, "upstream_unreachable")
    }

    func testStallBehindPingsEndsAsTimeout() {
        let recorder = run("stall:after=2", totalTimeout: .milliseconds(700))
        XCTAssertEqual(recorder.texts, ["tok0 ", "tok1 "])
        XCTAssertEqual(recorder.failure?.code, "upstream_timeout", "\(recorder.events)")
    }

    func testCancelStopsEventsAndClosesTheUpstreamConnection() throws {
        try assertCancelClosesTheConnection(provider("slow:tokens=600:delay_ms=50:tag=cancel"), tag: "tag=cancel")
    }
}
