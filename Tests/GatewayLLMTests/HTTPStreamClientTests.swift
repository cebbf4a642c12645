import Dispatch
import Foundation
import GatewayLLM
import XCTest

/// `HTTPStreamClient` over real sockets on 127.0.0.1: the scripted Python upstream, a port nothing
/// listens on, and a listener that never answers.
final class HTTPStreamClientTests: XCTestCase {
    private static let threadName = "llm-test-curl"
    private var upstream: ScriptedUpstream!
    private var client: HTTPStreamClient!

    override func setUpWithError() throws {
        upstream = try ScriptedUpstream()
        client = HTTPStreamClient(name: Self.threadName)
    }

    override func tearDown() {
        // The client first: a transfer still running must not see its upstream vanish.
        client?.shutdown()
        client = nil
        upstream?.stop()
        upstream = nil
    }

    /// A chat completions POST whose `model` selects the upstream script.
    private func scriptRequest(_ model: String, totalTimeout: Duration? = .seconds(30),
                               stallTimeout: Duration? = nil) -> HTTPStreamRequest {
        let body = try! JSONSerialization.data(withJSONObject: ["model": model, "stream": true])
        return HTTPStreamRequest(url: upstream.completionsURL,
                                 headers: [("Content-Type", "application/json"), ("Accept", "text/event-stream")],
                                 body: Array(body),
                                 connectTimeout: .seconds(5),
                                 totalTimeout: totalTimeout,
                                 stallTimeout: stallTimeout)
    }

    func testStreamedResponseArrivesInOrderAndComplete() throws {
        let handler = RecordingStreamHandler()
        let id = client.start(scriptRequest("ok:tokens=5:delay_ms=40"), handler: handler)
        XCTAssertTrue(handler.waitForCompletion(), "no completion; calls: \(handler.callKinds)")

        let kinds = handler.callKinds
        XCTAssertEqual(kinds.first, "head")
        XCTAssertEqual(kinds.last, "complete")
        XCTAssertEqual(Set(kinds.dropFirst().dropLast()), ["body"], "only body chunks between head and completion")
        XCTAssertGreaterThan(kinds.count - 2, 1, "tokens 40 ms apart arrive as several body chunks")

        let head = try XCTUnwrap(handler.heads.first)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.value(forHeader: "content-type"), "text/event-stream", "header lookup ignores case")
        XCTAssertEqual(head.value(forHeader: "X-Request-Id"), "1")
        XCTAssertEqual(head.headers.first?.name, "Server", "headers in arrival order, names as sent")

        let body = StreamedBody(handler.bodyText)
        XCTAssertEqual(body.contents, ["", "tok0 ", "tok1 ", "tok2 ", "tok3 ", "tok4 "])
        XCTAssertEqual(body.payloads.last, "[DONE]")
        XCTAssertTrue(handler.bodyText.hasPrefix("data: {"), "chunked framing is removed")

        // Cancelling a finished transfer must not complete it a second time.
        client.cancel(id)
        client.shutdown()  // joins the curl thread: nothing can arrive after this
        XCTAssertEqual(handler.completionErrors, [nil], "didComplete(.success) exactly once")
        XCTAssertEqual(handler.threadNames, [Self.threadName], "every callback runs on the client's curl thread")
    }

    func testHTTPErrorStatusesArriveAsHeadAndBodyNotAsErrors() throws {
        let cases = [("http-500", 500, "scripted internal error"), ("http-429", 429, "scripted rate limit")]
        for (script, status, message) in cases {
            let handler = RecordingStreamHandler()
            client.start(scriptRequest(script), handler: handler)
            XCTAssertTrue(handler.waitForCompletion(), script)
            XCTAssertEqual(handler.heads.map(\.status), [status], script)
            XCTAssertEqual(handler.completionErrors, [nil], "\(script) completes successfully")
            let error = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(handler.body)) as? [String: [String: Any]],
                                      "\(script) body: \(handler.bodyText)")
            XCTAssertEqual(error["error"]?["message"] as? String, message, script)
            XCTAssertEqual(handler.heads.first?.isSuccess, false, script)
            if status == 429 {
                XCTAssertEqual(handler.heads.first?.value(forHeader: "Retry-After"), "7")
            }
        }
    }

    func testResponseWithoutBodyStillDeliversItsHead() throws {
        let server = try CannedHTTPServer(response: "HTTP/1.1 204 No Content\r\nX-Canned: yes\r\nConnection: close\r\n\r\n")
        let handler = RecordingStreamHandler()
        client.start(HTTPStreamRequest(url: "http://127.0.0.1:\(server.port)/", method: .get, connectTimeout: .seconds(5)),
                     handler: handler)
        XCTAssertTrue(handler.waitForCompletion())
        XCTAssertEqual(handler.callKinds, ["head", "complete"])
        XCTAssertEqual(handler.heads.first?.status, 204)
        XCTAssertEqual(handler.heads.first?.value(forHeader: "X-Canned"), "yes")
        XCTAssertEqual(handler.completionErrors, [nil])
    }

    func testConnectionRefusedIsCouldNotConnect() throws {
        let port = try Loopback.unusedPort()
        let handler = RecordingStreamHandler()
        client.start(HTTPStreamRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions", body: Array("{}".utf8),
                                       connectTimeout: .seconds(5)),
                     handler: handler)
        XCTAssertTrue(handler.waitForCompletion())
        XCTAssertEqual(handler.callKinds, ["complete"], "no head for a connection that never opened")
        guard case .couldNotConnect(let message)? = handler.completionErrors.first else {
            return XCTFail("expected couldNotConnect, got \(handler.completionErrors)")
        }
        XCTAssertTrue(message.contains("\(port)"), "curl's detailed message names the port: \(message)")
    }

    func testCancelAbortsAndTheUpstreamSeesItsConnectionClose() throws {
        let handler = RecordingStreamHandler()
        let id = client.start(scriptRequest("slow:tokens=600:delay_ms=50"), handler: handler)
        XCTAssertTrue(handler.waitUntil { $0.body.count > 0 }, "the slow stream started")
        let requestID = try XCTUnwrap(handler.upstreamRequestID)

        let cancelledAt = Date()
        client.cancel(id)
        XCTAssertTrue(handler.waitForCompletion())
        XCTAssertEqual(handler.completionErrors, [.aborted])

        let entry = try upstream.waitClosed(requestID: requestID)
        XCTAssertEqual(entry["outcome"] as? String, "client_closed", "the upstream stopped before its script ended")
        let closedAt = try XCTUnwrap(entry["closed_at"] as? Double, "connection not closed: \(entry)")
        XCTAssertLessThan(closedAt - cancelledAt.timeIntervalSince1970, 2, "the connection closes promptly")

        let callsAfterAbort = handler.calls.count
        client.shutdown()
        XCTAssertEqual(handler.calls.count, callsAfterAbort, "nothing arrives after .aborted")
    }

    func testStallTimeoutEndsAConnectionThatNeverAnswers() throws {
        let silent = try SilentTCPListener()
        let handler = RecordingStreamHandler()
        // A GET: curl averages its speed over ~5 s, so the bytes of a request body would keep a 1 s
        // stall timer from firing for ~7 s.
        let started = Date()
        client.start(HTTPStreamRequest(url: "http://127.0.0.1:\(silent.port)/", method: .get,
                                       connectTimeout: .seconds(5), totalTimeout: .seconds(60),
                                       stallTimeout: .milliseconds(1_000)),
                     handler: handler)
        XCTAssertTrue(handler.waitForCompletion(timeout: 15))
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(handler.callKinds, ["complete"])
        guard case .timedOut? = handler.completionErrors.first else {
            return XCTFail("expected timedOut (connected, then silence), got \(handler.completionErrors)")
        }
        XCTAssertGreaterThan(elapsed, 0.5, "the stall timer, not an immediate failure")
        XCTAssertLessThan(elapsed, 8, "the stall timer, long before the 60 s total timeout")
    }

    func testTotalTimeoutEndsAStallHiddenBehindKeepAlives() throws {
        let handler = RecordingStreamHandler()
        let started = Date()
        client.start(scriptRequest("stall:after=2", totalTimeout: .milliseconds(700), stallTimeout: .seconds(1)),
                     handler: handler)
        XCTAssertTrue(handler.waitForCompletion(timeout: 15))
        let elapsed = Date().timeIntervalSince(started)
        guard case .timedOut? = handler.completionErrors.first else {
            return XCTFail("expected timedOut, got \(handler.completionErrors)")
        }
        XCTAssertEqual(handler.heads.map(\.status), [200])
        XCTAssertEqual(StreamedBody(handler.bodyText).contents, ["", "tok0 ", "tok1 "], "the text before the stall arrived")
        XCTAssertTrue(handler.bodyText.contains(": keep-alive"), "keep-alives kept the stall timer quiet")
        XCTAssertGreaterThan(elapsed, 0.5)
        XCTAssertLessThan(elapsed, 8)

        let entry = try upstream.waitClosed(requestID: try XCTUnwrap(handler.upstreamRequestID))
        XCTAssertEqual(entry["outcome"] as? String, "client_closed", "a timed-out transfer closes its connection")
    }

    func testShutdownAbortsInFlightTransfersAndRefusesNewOnes() throws {
        let handlers = (0..<3).map { _ in RecordingStreamHandler() }
        for handler in handlers {
            client.start(scriptRequest("slow:tokens=600:delay_ms=100"), handler: handler)
        }
        for handler in handlers {
            XCTAssertTrue(handler.waitUntil { !$0.heads.isEmpty }, "all three are streaming")
        }

        client.shutdown()  // returns once the curl thread has ended
        for (index, handler) in handlers.enumerated() {
            XCTAssertEqual(handler.completionErrors, [.aborted], "transfer \(index)")
            let entry = try upstream.waitClosed(requestID: try XCTUnwrap(handler.upstreamRequestID))
            XCTAssertEqual(entry["outcome"] as? String, "client_closed", "transfer \(index)'s connection closed")
        }

        let late = RecordingStreamHandler()
        client.start(scriptRequest("ok"), handler: late)
        XCTAssertEqual(late.completionErrors, [.aborted], "refused at once, before start returns")
        XCTAssertEqual(late.callKinds, ["complete"])
        client.shutdown()  // idempotent
    }

    func testManyConcurrentTransfersEachGetTheirOwnBody() throws {
        let count = 50
        let handlers = (0..<count).map { _ in RecordingStreamHandler() }
        let models = (0..<count).map { "ok:tokens=\($0 % 9 + 1):delay_ms=5:tag=t\($0)" }
        let requests = models.map { scriptRequest($0) }
        let client = self.client!
        // Several threads at once, as turns start them.
        DispatchQueue.concurrentPerform(iterations: count) { index in
            client.start(requests[index], handler: handlers[index])
        }
        for (index, handler) in handlers.enumerated() {
            XCTAssertTrue(handler.waitForCompletion(timeout: 15), "transfer \(index) did not complete")
        }
        client.shutdown()

        for (index, handler) in handlers.enumerated() {
            XCTAssertEqual(handler.completionErrors, [nil], "transfer \(index)")
            XCTAssertEqual(handler.heads.map(\.status), [200], "transfer \(index)")
            let body = StreamedBody(handler.bodyText)
            XCTAssertEqual(body.models, [models[index]], "transfer \(index) got another request's body")
            XCTAssertEqual(body.contents, [""] + (0..<(index % 9 + 1)).map { "tok\($0) " }, "transfer \(index)")
            XCTAssertEqual(body.payloads.last, "[DONE]", "transfer \(index)")
        }
        XCTAssertEqual(Set(handlers.compactMap(\.upstreamRequestID)).count, count, "one upstream request each")
    }
}
