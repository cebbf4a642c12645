import Foundation
import GatewayCore
import GatewayLLM
import XCTest

/// The built-in demo model: deterministic text of the configured length, its usage and finish
/// reason, pacing, and cancellation.
final class DemoProviderTests: XCTestCase {
    private static func request(_ prompt: String, maxOutputTokens: Int? = nil) -> ChatRequest {
        ChatRequest(session: "s1", turn: "t1",
                    messages: [ChatMessage(role: .system, content: "Be brief."), ChatMessage(role: .user, content: prompt)],
                    maxOutputTokens: maxOutputTokens)
    }

    /// Runs one reply to its end and checks that it ends exactly once, with nothing after.
    private func reply(from provider: DemoProvider, to request: ChatRequest,
                       file: StaticString = #filePath, line: UInt = #line) -> ProviderEventRecorder {
        let recorder = ProviderEventRecorder()
        _ = provider.startStream(request, onEvent: recorder.onEvent)
        XCTAssertTrue(recorder.waitForTerminal(), "no terminal event: \(recorder.events.suffix(3))", file: file, line: line)
        let countAtTerminal = recorder.events.count
        usleep(150_000)  // several 20 ms ticks: a timer left running would emit again
        XCTAssertEqual(recorder.events.count, countAtTerminal, "nothing after the terminal event", file: file, line: line)
        XCTAssertEqual(recorder.terminals.count, 1, file: file, line: line)
        return recorder
    }

    func testReplyIsDeterministicWithTheConfiguredLengthUsageAndStop() {
        let provider = DemoProvider(tokensPerSecond: 5_000, replyTokens: 60)
        let request = Self.request("What is a gateway?")
        let first = reply(from: provider, to: request)
        let again = reply(from: provider, to: request)
        let other = reply(from: provider, to: Self.request("Tell me about sockets."))

        XCTAssertEqual(first.texts.count, 60, "one text event per token")
        XCTAssertEqual(first.texts, again.texts, "the same prompt gets the same reply")
        XCTAssertNotEqual(first.texts, other.texts, "another prompt gets another reply")
        XCTAssertEqual(other.texts.count, 60)
        XCTAssertTrue(first.texts.joined().hasPrefix("This is the chat-gateway demo model: "), first.texts.joined())
        XCTAssertTrue(first.texts.dropLast().allSatisfy { $0.hasSuffix(" ") && !$0.dropLast().contains(" ") },
                      "a token is one word and its space")
        XCTAssertTrue(first.texts.last?.hasSuffix(".") == true, "the reply ends with a full stop: \(first.texts.last ?? "")")

        XCTAssertEqual(first.events.suffix(2), [
            .usage(TokenUsage(inputTokens: TokenEstimator.inputTokens(of: request.messages), outputTokens: 60, estimated: false)),
            .finished(upstreamReason: "stop"),
        ])
    }

    func testMaxOutputTokensBelowTheLengthEndsWithLength() {
        let provider = DemoProvider(tokensPerSecond: 5_000, replyTokens: 60)
        let full = reply(from: provider, to: Self.request("Cut me short"))
        let capped = reply(from: provider, to: Self.request("Cut me short", maxOutputTokens: 7))

        XCTAssertEqual(capped.texts.count, 7)
        XCTAssertEqual(Array(capped.texts.prefix(6)), Array(full.texts.prefix(6)), "a shorter reply is the same reply, cut")
        XCTAssertEqual(capped.usages.map(\.outputTokens), [7])
        XCTAssertEqual(capped.events.last, .finished(upstreamReason: "length"))
    }

    func testTokensArriveAtTheConfiguredRate() {
        let provider = DemoProvider(tokensPerSecond: 100, replyTokens: 20)
        let recorder = ProviderEventRecorder()
        let started = Date()
        _ = provider.startStream(Self.request("pace"), onEvent: recorder.onEvent)
        XCTAssertTrue(recorder.waitForTerminal())
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(recorder.texts.count, 20)
        // The 20th token is due 190 ms after the first; a reply sent all at once would take ~0.
        XCTAssertGreaterThan(elapsed, 0.15, "paced, not dumped")
        XCTAssertLessThan(elapsed, 3)
    }

    func testCancelStopsTheReplyWithNoFurtherEvents() {
        let provider = DemoProvider(tokensPerSecond: 40, replyTokens: 60)
        let recorder = ProviderEventRecorder()
        let stream = provider.startStream(Self.request("cancel me"), onEvent: recorder.onEvent)
        XCTAssertTrue(recorder.waitUntil { $0.count >= 3 }, "the reply started")

        stream.cancel()
        let countAtCancel = recorder.events.count
        usleep(300_000)  // 12 more tokens would be due by now

        // A delivery already under way when cancel() ran may still land; nothing may start after it.
        XCTAssertLessThanOrEqual(recorder.events.count - countAtCancel, 1, "\(recorder.events.suffix(3))")
        XCTAssertEqual(recorder.terminals, [], "a cancelled reply stays silent")
        XCTAssertLessThan(recorder.texts.count, 60)
    }
}
