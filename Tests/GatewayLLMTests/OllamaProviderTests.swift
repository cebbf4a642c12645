import Foundation
import GatewayCore
import GatewayLLM
import XCTest

/// `UpstreamProvider<OllamaDialect>` against the scripted upstream's `/api/chat` (NDJSON): what
/// each upstream behaviour turns into as `ProviderEvent`s, and that every stream ends exactly once.
final class OllamaProviderTests: ScriptedProviderTestCase {
    private func provider(_ model: String, maxTokens: Int? = nil, temperature: Double? = nil, baseURL: String? = nil,
                          totalTimeout: Duration = .seconds(30)) -> OllamaProvider {
        OllamaProvider(baseURL: baseURL ?? upstream.rootURL, model: model, maxTokens: maxTokens, temperature: temperature,
                       settings: Self.settings(totalTimeout: totalTimeout), client: client)
    }

    private func run(_ model: String, totalTimeout: Duration = .seconds(30), file: StaticString = #filePath,
                     line: UInt = #line) -> ProviderEventRecorder {
        setUpFreshClient()
        return streamToEnd(provider(model, totalTimeout: totalTimeout), model, file: file, line: line)
    }

    func testOkStreamsTextThenTheDoneCountsAndStop() {
        XCTAssertEqual(run("ok:tokens=5").events, Self.tokens(5) + [
            .usage(TokenUsage(inputTokens: 11, outputTokens: 5, estimated: false)),
            .finished(upstreamReason: "stop"),
        ])
    }

    func testLengthIsPassedOnAndMapsToLength() {
        let recorder = run("length:tokens=3")
        XCTAssertEqual(recorder.events, Self.tokens(3) + [
            .usage(TokenUsage(inputTokens: 11, outputTokens: 3, estimated: false)),
            .finished(upstreamReason: "length"),
        ])
        guard case .finished(let reason)? = recorder.events.last else { return XCTFail("not finished") }
        XCTAssertEqual(TurnFinish(upstreamReason: reason), .length)
    }

    func testWithoutCountsUsageIsEstimated() {
        let recorder = run("nousage:tokens=2")
        XCTAssertEqual(recorder.usages.map(\.estimated), [true])
        XCTAssertEqual(recorder.events.last, .finished(upstreamReason: "stop"))
    }

    func testTruncatedStreamFailsAfterItsText() {
        for model in ["truncate:after=3", "truncate:after=3:abrupt=1"] {
            let recorder = run(model)
            XCTAssertEqual(recorder.texts, ["tok0 ", "tok1 ", "tok2 "], model)
            XCTAssertEqual(recorder.usages.map(\.estimated), [true], "\(model): no done object, so an estimate")
            XCTAssertEqual(recorder.failure?.code, "upstream_truncated", "\(model): \(recorder.events)")
        }
    }

    func testErrorLineFailsAfterItsTextRetryableWhenBusy() {
        let busy = run("inband-error:after=3")
        XCTAssertEqual(busy.texts, ["tok0 ", "tok1 ", "tok2 "])
        XCTAssertEqual(busy.failure,
                       .upstreamError("scripted in-band failure: server busy, please try again", overloaded: true))

        let plain = run("inband-error:after=1:overloaded=0")
        XCTAssertEqual(plain.failure, .upstreamError("scripted in-band failure"))
    }

    func testHTTPErrorsCarryOllamasMessageAndRetryHint() {
        let internalError = run("http-500")
        XCTAssertEqual(internalError.events, [.failed(.upstreamHTTP(status: 500, detail: "scripted internal error"))])

        let legacy = run("http-429")
        XCTAssertEqual(legacy.failure?.retry, .allowed(afterMillis: 7000))
        XCTAssertEqual(legacy.failure?.message, "upstream answered HTTP 429: scripted rate limit (retry after 7 s)")
        XCTAssertEqual(run("http-429:retry=seconds").failure?.retry, .allowed(afterMillis: 1000))
        XCTAssertEqual(run("http-429:retry=ms").failure?.retry, .allowed(afterMillis: 300))
        XCTAssertEqual(run("http-429:retry=none").failure?.retry, .allowed(afterMillis: nil))
        XCTAssertEqual(run("http-404").failure?.isRetryable, false)
    }

    func testEchoShowsTheMessagesAndOptionsSent() throws {
        setUpFreshClient()
        let recorder = streamToEnd(provider("echo:tag=echo", maxTokens: 77, temperature: 0), "echo")
        XCTAssertEqual(recorder.texts.joined(), "please echo this back")

        let entry = try XCTUnwrap(upstream.requestLog().first)
        XCTAssertEqual(entry["path"] as? String, "/api/chat")
        XCTAssertEqual(entry["format"] as? String, "ollama")
        let sent = try XCTUnwrap(entry["messages"] as? [[String: String]])
        XCTAssertEqual(sent, Self.conversation.map { ["role": $0.role.rawValue, "content": $0.content] },
                       "system prompt as a message, history as it was")
        let body = try XCTUnwrap(entry["request"] as? [String: Any])
        let options = try XCTUnwrap(body["options"] as? [String: Any])
        XCTAssertEqual(options["num_predict"] as? Int, 77)
        XCTAssertEqual(options["temperature"] as? Double, 0)
        XCTAssertEqual(body["stream"] as? Bool, true)
        let promptTokens = Self.conversation.reduce(0) { $0 + $1.content.count / 4 + 4 }
        XCTAssertEqual(recorder.usages, [TokenUsage(inputTokens: promptTokens, outputTokens: 4, estimated: false)])
    }

    func testAwkwardlySplitStreamWithoutAFinalLineEndIsReassembledExactly() {
        let recorder = run("split")
        XCTAssertEqual(recorder.texts, ["Split", " héllo", " 世界", " 🙂", " end"], "one event per line")
        XCTAssertEqual(recorder.usages, [TokenUsage(inputTokens: 11, outputTokens: 5, estimated: false)])
        XCTAssertEqual(recorder.events.last, .finished(upstreamReason: "stop"))
    }

    func testFailFirstFailsTheFirstRequestsOfATagThenSucceeds() throws {
        let model = "ok:tokens=2:tag=retry-count:fail_first=2:fail_with=http-503"
        let outcomes = (0..<3).map { _ in run(model).events.last }
        XCTAssertEqual(outcomes, [
            .failed(.upstreamHTTP(status: 503, detail: "scripted HTTP 503")),
            .failed(.upstreamHTTP(status: 503, detail: "scripted HTTP 503")),
            .finished(upstreamReason: "stop"),
        ])
        let entries = try upstream.requestLog()
        XCTAssertEqual(entries.compactMap { $0["attempt"] as? Int }, [1, 2, 3])
        XCTAssertEqual(entries.compactMap { $0["script"] as? String }, ["http-503", "http-503", "ok"])
    }

    func testFailuresBeforeAnyResponse() {
        let reset = run("reset")
        XCTAssertEqual(reset.events.count, 1, "\(reset.events)")
        XCTAssertEqual(reset.failure?.code, "upstream_error")
        XCTAssertTrue(reset.failure?.message.contains("reset") == true, "a real RST: \(reset.events)")
        XCTAssertEqual(reset.failure?.isRetryable, true)

        let silent = run("stall-headers", totalTimeout: .milliseconds(500))
        XCTAssertEqual(silent.failure?.code, "upstream_timeout", "\(silent.events)")
    }

    func testStallBehindBlankLinesEndsAsTimeout() {
        let recorder = run("stall:after=2", totalTimeout: .milliseconds(700))
        XCTAssertEqual(recorder.texts, ["tok0 ", "tok1 "])
        XCTAssertEqual(recorder.failure?.code, "upstream_timeout", "\(recorder.events)")
    }

    func testCancelStopsEventsAndClosesTheUpstreamConnection() throws {
        try assertCancelClosesTheConnection(provider("slow:tokens=600:delay_ms=50:tag=cancel"), tag: "tag=cancel")
    }
}
