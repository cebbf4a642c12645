import Foundation
import GatewayCore
import GatewayLLM
import XCTest

/// `OpenAIProvider` (the generic `UpstreamStream` with the OpenAI dialect) against the scripted upstream: what each upstream
/// behaviour turns into as `ProviderEvent`s, and that every stream ends exactly once.
final class OpenAIProviderTests: XCTestCase {
    private var upstream: ScriptedUpstream!
    private var client: HTTPStreamClient!

    override func setUpWithError() throws {
        upstream = try ScriptedUpstream()
        client = HTTPStreamClient(name: "llm-test-curl")
    }

    override func tearDown() {
        // The client first: a transfer still running must not see its upstream vanish.
        client?.shutdown()
        client = nil
        upstream?.stop()
        upstream = nil
    }

    private static let conversation = [
        ChatMessage(role: .system, content: "You are terse."),
        ChatMessage(role: .user, content: "hi"),
        ChatMessage(role: .assistant, content: "hello"),
        ChatMessage(role: .user, content: "please echo this back"),
    ]

    private func provider(_ model: String, baseURL: String? = nil, totalTimeout: Duration = .seconds(30)) -> OpenAIProvider {
        OpenAIProvider(config: OpenAIProviderConfig(baseURL: baseURL ?? upstream.baseURL, model: model,
                                                    connectTimeout: .seconds(5), totalTimeout: totalTimeout),
                       client: client)
    }

    private func startStream(_ model: String, baseURL: String? = nil, totalTimeout: Duration = .seconds(30))
        -> (ProviderEventRecorder, any ProviderStream) {
        let recorder = ProviderEventRecorder()
        let request = ChatRequest(session: "s1", turn: "t1", messages: Self.conversation)
        let stream = provider(model, baseURL: baseURL, totalTimeout: totalTimeout)
            .startStream(request, onEvent: recorder.onEvent)
        return (recorder, stream)
    }

    /// Runs a stream to its terminal event, then stops the client (joining its thread) so that
    /// anything emitted after the terminal would be seen, and checks there is exactly one, last.
    private func streamToEnd(_ model: String, baseURL: String? = nil, totalTimeout: Duration = .seconds(30),
                             file: StaticString = #filePath, line: UInt = #line) -> ProviderEventRecorder {
        let (recorder, _) = startStream(model, baseURL: baseURL, totalTimeout: totalTimeout)
        XCTAssertTrue(recorder.waitForTerminal(), "\(model): no terminal event; got \(recorder.events)", file: file, line: line)
        client.shutdown()
        XCTAssertEqual(recorder.terminals.count, 1, "\(model): exactly one terminal event", file: file, line: line)
        XCTAssertEqual(recorder.events.last?.isTerminal, true, "\(model): the terminal event is the last one", file: file, line: line)
        return recorder
    }

    private static func tokens(_ count: Int) -> [ProviderEvent] {
        (0..<count).map { .text("tok\($0) ") }
    }

    func testOkStreamsTextInOrderThenUsageAndStop() {
        let recorder = streamToEnd("ok:tokens=5")
        XCTAssertEqual(recorder.events, Self.tokens(5) + [
            .usage(TokenUsage(inputTokens: 11, outputTokens: 5, estimated: false)),
            .finished(upstreamReason: "stop"),
        ])
    }

    func testLengthFinishReasonIsPassedOn() {
        let recorder = streamToEnd("length:tokens=3")
        XCTAssertEqual(recorder.events, Self.tokens(3) + [
            .usage(TokenUsage(inputTokens: 11, outputTokens: 3, estimated: false)),
            .finished(upstreamReason: "length"),
        ])
    }

    func testTruncatedStreamFailsAfterItsText() {
        for model in ["truncate:after=3", "truncate:after=3:abrupt=1"] {
            setUpFreshClient()
            let recorder = streamToEnd(model)
            XCTAssertEqual(recorder.texts, ["tok0 ", "tok1 ", "tok2 "], model)
            XCTAssertEqual(recorder.usages.map(\.estimated), [true], "\(model): no upstream usage, so an estimate")
            XCTAssertEqual(recorder.failure?.code, "upstream_truncated", "\(model): \(recorder.events)")
        }
    }

    func testInBandErrorFailsAfterItsText() {
        let recorder = streamToEnd("inband-error:after=3")
        XCTAssertEqual(recorder.texts, ["tok0 ", "tok1 ", "tok2 "])
        XCTAssertEqual(recorder.usages.count, 1, "usage precedes the terminal after a 200")
        XCTAssertEqual(recorder.failure?.code, "upstream_error")
        XCTAssertTrue(recorder.failure?.message.contains("scripted in-band failure") == true, "\(recorder.events)")
    }

    func testHTTPErrorsFailWithTheUpstreamsMessage() {
        let internalError = streamToEnd("http-500")
        XCTAssertEqual(internalError.events.count, 1, "no text and no usage for a non-2xx answer: \(internalError.events)")
        XCTAssertEqual(internalError.failure?.code, "upstream_http")
        let internalMessage = internalError.failure?.message ?? ""
        XCTAssertTrue(internalMessage.contains("HTTP 500") && internalMessage.contains("scripted internal error"), internalMessage)

        setUpFreshClient()
        let rateLimited = streamToEnd("http-429")
        XCTAssertEqual(rateLimited.failure?.code, "upstream_http")
        let rateMessage = rateLimited.failure?.message ?? ""
        XCTAssertTrue(rateMessage.contains("HTTP 429") && rateMessage.contains("scripted rate limit"), rateMessage)
        XCTAssertTrue(rateMessage.hasSuffix("(retry after 7 s)"), "Retry-After is read and quoted: \(rateMessage.debugDescription)")
        XCTAssertEqual(rateLimited.failure?.retry, .allowed(afterMillis: 7000))
        XCTAssertEqual(internalError.failure?.retry, .allowed(afterMillis: nil))
    }

    func testUnreachableUpstreamFailsAsUnreachable() throws {
        let port = try Loopback.unusedPort()
        let recorder = streamToEnd("ok", baseURL: "http://127.0.0.1:\(port)/v1")
        XCTAssertEqual(recorder.events.count, 1, "\(recorder.events)")
        XCTAssertEqual(recorder.failure?.code, "upstream_unreachable")
    }

    func testAwkwardlySplitStreamIsReassembledExactly() {
        let recorder = streamToEnd("split")
        XCTAssertEqual(recorder.texts.joined(), "Split héllo 世界 🙂 end")
        XCTAssertEqual(recorder.texts, ["Split", " héllo", " 世界", " 🙂", " end"], "one event per content delta")
        XCTAssertEqual(recorder.usages, [TokenUsage(inputTokens: 11, outputTokens: 5, estimated: false)])
        XCTAssertEqual(recorder.events.last, .finished(upstreamReason: "stop"))
    }

    func testEchoShowsTheRequestCarriedTheMessages() throws {
        let recorder = streamToEnd("echo:tag=echo")
        XCTAssertEqual(recorder.texts.joined(), "please echo this back")

        let entry = try XCTUnwrap(upstream.requestLog().first)
        XCTAssertEqual(entry["model"] as? String, "echo:tag=echo")
        let sent = try XCTUnwrap(entry["messages"] as? [[String: String]])
        XCTAssertEqual(sent, Self.conversation.map { ["role": $0.role.rawValue, "content": $0.content] })
        // The script's own count: len(content) // 4 + 4 per message.
        let promptTokens = Self.conversation.reduce(0) { $0 + $1.content.count / 4 + 4 }
        XCTAssertEqual(recorder.usages, [TokenUsage(inputTokens: promptTokens, outputTokens: 4, estimated: false)])
    }

    func testStallBehindKeepAlivesEndsAsTimeout() {
        let recorder = streamToEnd("stall:after=2", totalTimeout: .milliseconds(700))
        XCTAssertEqual(recorder.texts, ["tok0 ", "tok1 "])
        XCTAssertEqual(recorder.failure?.code, "upstream_timeout", "\(recorder.events)")
    }

    func testCancelStopsEventsAndClosesTheUpstreamConnection() throws {
        let (recorder, stream) = startStream("slow:tokens=600:delay_ms=50:tag=cancel")
        XCTAssertTrue(recorder.waitUntil { $0.count >= 3 }, "the slow stream started: \(recorder.events)")
        let requestID = try XCTUnwrap(upstream.requestID(tagged: "tag=cancel"))

        let cancelledAt = Date()
        stream.cancel()
        let eventsAtCancel = recorder.events.count

        let entry = try upstream.waitClosed(requestID: requestID)
        XCTAssertEqual(entry["outcome"] as? String, "client_closed")
        let closedAt = try XCTUnwrap(entry["closed_at"] as? Double, "connection not closed: \(entry)")
        XCTAssertLessThan(closedAt - cancelledAt.timeIntervalSince1970, 2, "cancel closes the connection promptly")

        stream.cancel()  // a second cancel is harmless
        client.shutdown()  // would make a still-running transfer report a failure
        // A delivery already under way when cancel() ran may still land; nothing may start after it.
        XCTAssertLessThanOrEqual(recorder.events.count - eventsAtCancel, 1, "\(recorder.events.suffix(3))")
        XCTAssertEqual(recorder.terminals, [], "a cancelled stream stays silent")
    }

    func testShutdownUnderARunningStreamFailsIt() {
        let (recorder, _) = startStream("slow:tokens=600:delay_ms=50")
        XCTAssertTrue(recorder.waitUntil { !$0.isEmpty }, "the slow stream started")
        client.shutdown()
        XCTAssertEqual(recorder.terminals.count, 1, "\(recorder.events.suffix(3))")
        XCTAssertEqual(recorder.failure?.code, "upstream_error")
        XCTAssertTrue(recorder.failure?.message.contains("shutting down") == true, "\(recorder.events.suffix(2))")
    }

    /// `streamToEnd` shuts the client down; a test that runs several streams needs a new one.
    private func setUpFreshClient() {
        client.shutdown()
        client = HTTPStreamClient(name: "llm-test-curl")
    }
}
