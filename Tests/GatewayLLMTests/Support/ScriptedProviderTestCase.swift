import Foundation
import GatewayCore
import GatewayLLM
import XCTest

/// What the dialect provider tests share: a scripted upstream and a curl client per test, and
/// runs of one stream to its end. Has no tests of its own.
class ScriptedProviderTestCase: XCTestCase {
    var upstream: ScriptedUpstream!
    var client: HTTPStreamClient!

    static let conversation = [
        ChatMessage(role: .system, content: "You are terse."),
        ChatMessage(role: .user, content: "hi"),
        ChatMessage(role: .assistant, content: "hello"),
        ChatMessage(role: .user, content: "please echo this back"),
    ]

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

    static func settings(totalTimeout: Duration = .seconds(30)) -> UpstreamConnectionSettings {
        UpstreamConnectionSettings(connectTimeout: .seconds(5), totalTimeout: totalTimeout)
    }

    func startStream(_ provider: any ChatProvider) -> (ProviderEventRecorder, any ProviderStream) {
        let recorder = ProviderEventRecorder()
        let request = ChatRequest(session: "s1", turn: "t1", messages: Self.conversation)
        return (recorder, provider.startStream(request, onEvent: recorder.onEvent))
    }

    /// Runs a stream to its terminal event, then stops the client (joining its thread) so that
    /// anything emitted after the terminal would be seen, and checks there is exactly one, last.
    /// The next stream needs `setUpFreshClient()`.
    func streamToEnd(_ provider: any ChatProvider, _ label: String,
                     file: StaticString = #filePath, line: UInt = #line) -> ProviderEventRecorder {
        let (recorder, _) = startStream(provider)
        XCTAssertTrue(recorder.waitForTerminal(), "\(label): no terminal event; got \(recorder.events)", file: file, line: line)
        client.shutdown()
        XCTAssertEqual(recorder.terminals.count, 1, "\(label): exactly one terminal event", file: file, line: line)
        XCTAssertEqual(recorder.events.last?.isTerminal, true, "\(label): the terminal event is the last one", file: file, line: line)
        // A stream that got as far as a 2xx body ends with one usage right before the terminal;
        // one that failed before (HTTP error, no connection) is the terminal alone.
        let events = recorder.events
        if events.count > 1 {
            XCTAssertEqual(recorder.usages.count, 1, "\(label): one usage: \(events)", file: file, line: line)
            if case .usage = events[events.count - 2] {} else {
                XCTFail("\(label): usage right before the terminal: \(events)", file: file, line: line)
            }
        }
        return recorder
    }

    func setUpFreshClient() {
        client.shutdown()
        client = HTTPStreamClient(name: "llm-test-curl")
    }

    static func tokens(_ count: Int) -> [ProviderEvent] {
        (0..<count).map { .text("tok\($0) ") }
    }

    /// Cancelling a slow stream stops its events and closes the upstream connection within 2 s.
    func assertCancelClosesTheConnection(_ provider: any ChatProvider, tag: String,
                                         file: StaticString = #filePath, line: UInt = #line) throws {
        let (recorder, stream) = startStream(provider)
        XCTAssertTrue(recorder.waitUntil { $0.count >= 3 }, "the slow stream started: \(recorder.events)", file: file, line: line)
        let requestID = try XCTUnwrap(upstream.requestID(tagged: tag), file: file, line: line)

        let cancelledAt = Date()
        stream.cancel()
        let eventsAtCancel = recorder.events.count

        let entry = try upstream.waitClosed(requestID: requestID)
        XCTAssertEqual(entry["outcome"] as? String, "client_closed", file: file, line: line)
        let closedAt = try XCTUnwrap(entry["closed_at"] as? Double, "connection not closed: \(entry)", file: file, line: line)
        XCTAssertLessThan(closedAt - cancelledAt.timeIntervalSince1970, 2, "cancel closes the connection promptly",
                          file: file, line: line)

        stream.cancel()  // a second cancel is harmless
        client.shutdown()  // would make a still-running transfer report a failure
        // A delivery already under way when cancel() ran may still land; nothing may start after it.
        XCTAssertLessThanOrEqual(recorder.events.count - eventsAtCancel, 1, "\(recorder.events.suffix(3))", file: file, line: line)
        XCTAssertEqual(recorder.terminals, [], "a cancelled stream stays silent", file: file, line: line)
    }
}
