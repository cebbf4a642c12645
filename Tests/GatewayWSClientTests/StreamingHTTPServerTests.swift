import Dispatch
import Foundation
import GatewayLLM
import GatewayWSClient
import Synchronization
import XCTest

/// The streaming HTTP server against libcurl (the gateway's own HTTP client) over loopback: a POST
/// body arrives whole, the response streams from ticks and ends with the connection, and a client
/// that goes away first is reported as such.
final class StreamingHTTPServerTests: XCTestCase {
    private var client: HTTPStreamClient!

    override func setUp() { client = HTTPStreamClient(name: "http-server-test") }

    override func tearDown() {
        client.shutdown()
        client = nil
    }

    private func startServer(_ handler: TickingHandler) throws -> StreamingHTTPServer {
        var options = StreamingHTTPServerOptions()
        options.eventLoop = .poll  // the test process may run other lws contexts on libev
        let server = StreamingHTTPServer(options: options, handler: handler)
        try server.start()
        addTeardownBlock { server.stop() }
        return server
    }

    private func post(_ server: StreamingHTTPServer, body: String, handler: CollectingHandler) -> HTTPTransferID {
        client.start(HTTPStreamRequest(url: "http://127.0.0.1:\(server.boundPort)/v1/chat/completions",
                                       headers: [("Content-Type", "text/plain"), ("Expect", "")],
                                       body: Array(body.utf8), connectTimeout: .seconds(5), totalTimeout: .seconds(20)),
                     handler: handler)
    }

    func testTheBodyArrivesWholeAndTheResponseStreamsToItsEnd() throws {
        let handler = TickingHandler(pieces: 3)
        let server = try startServer(handler)
        let big = String(repeating: "0123456789", count: 5_000)  // more than one receive buffer
        let response = CollectingHandler()
        _ = post(server, body: big, handler: response)
        XCTAssertTrue(response.done.wait(timeout: .now() + 10) == .success)

        XCTAssertEqual(response.state.withLock { $0.status }, 200)
        XCTAssertEqual(response.state.withLock { $0.contentType }, "text/event-stream")
        XCTAssertEqual(response.text, "got \(big.utf8.count) bytes on /v1/chat/completions|piece 1|piece 2|piece 3|end")
        XCTAssertNil(response.state.withLock { $0.error })
        handler.waitForCloses(1)
        XCTAssertEqual(handler.closes.map(\.completed), [true])
        XCTAssertEqual(server.openStreams, 0)
    }

    func testAClientThatGoesAwayMidStreamIsReportedAsNotCompleted() throws {
        let handler = TickingHandler(pieces: 1_000_000)
        let server = try startServer(handler)
        let response = CollectingHandler(firstBytes: DispatchSemaphore(value: 0))
        let transfer = post(server, body: "cancel me", handler: response)
        XCTAssertTrue(response.firstBytes!.wait(timeout: .now() + 10) == .success)
        let cancelledAt = Self.wallMicroseconds()
        client.cancel(transfer)
        handler.waitForCloses(1)
        let close = try XCTUnwrap(handler.closes.first)
        XCTAssertFalse(close.completed)
        XCTAssertGreaterThanOrEqual(close.atMicroseconds, cancelledAt, "the close is stamped when the server sees it")
        XCTAssertTrue(response.done.wait(timeout: .now() + 10) == .success)
        XCTAssertEqual(response.state.withLock { $0.error }, .aborted)
    }

    func testSeveralStreamsAtOnceEachGetTheirOwnPieces() throws {
        let handler = TickingHandler(pieces: 5)
        let server = try startServer(handler)
        let responses = (0..<8).map { _ in CollectingHandler() }
        for (index, response) in responses.enumerated() { _ = post(server, body: "n\(index)", handler: response) }
        for response in responses { XCTAssertTrue(response.done.wait(timeout: .now() + 10) == .success) }
        for response in responses {
            XCTAssertEqual(response.text, "got 2 bytes on /v1/chat/completions|piece 1|piece 2|piece 3|piece 4|piece 5|end")
        }
        handler.waitForCloses(8)
        XCTAssertEqual(Set(handler.closes.map(\.stream)).count, 8)
    }

    static func wallMicroseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now.tv_sec * 1_000_000 + now.tv_nsec / 1000
    }
}

/// Answers every request with what it got, then one `|piece N` per tick up to `pieces`, then `|end`.
private final class TickingHandler: StreamingHTTPHandler {
    struct Close { var stream: Int; var completed: Bool; var atMicroseconds: Int }
    private let pieces: Int
    private let state = Mutex<(sent: [Int: Int], closes: [Close])>(([:], []))

    init(pieces: Int) { self.pieces = pieces }

    var closes: [Close] { state.withLock { $0.closes } }

    func waitForCloses(_ count: Int) {
        let deadline = Date(timeIntervalSinceNow: 10)
        while closes.count < count && Date() < deadline { usleep(2_000) }
    }

    func requestArrived(_ stream: Int, method: StreamingHTTPMethod, path: String, body: [UInt8]) -> StreamingHTTPResponse {
        XCTAssertEqual(method, .post)
        state.withLock { $0.sent[stream] = 0 }
        return StreamingHTTPResponse(status: 200, contentType: "text/event-stream", body: Array("got \(body.count) bytes on \(path)".utf8))
    }

    func tick(_ output: inout StreamingHTTPOutput) {
        let due = state.withLock { state -> [(Int, Int)] in
            let streams = state.sent.map { ($0.key, $0.value + 1) }
            for (stream, count) in streams { state.sent[stream] = count }
            return streams
        }
        for (stream, count) in due {
            if count > pieces {
                output.write(Array("|end".utf8), to: stream, final: true)
                state.withLock { _ = $0.sent.removeValue(forKey: stream) }
            } else {
                output.write(Array("|piece \(count)".utf8), to: stream)
            }
        }
    }

    func streamClosed(_ stream: Int, completed: Bool, atMicroseconds: Int) {
        state.withLock { state in
            state.sent[stream] = nil
            state.closes.append(Close(stream: stream, completed: completed, atMicroseconds: atMicroseconds))
        }
    }
}

private final class CollectingHandler: HTTPStreamHandler {
    struct State { var status = 0; var contentType: String?; var body: [UInt8] = []; var error: HTTPStreamError? }
    let state = Mutex(State())
    let done = DispatchSemaphore(value: 0)
    let firstBytes: DispatchSemaphore?

    init(firstBytes: DispatchSemaphore? = nil) { self.firstBytes = firstBytes }

    var text: String { String(decoding: state.withLock { $0.body }, as: UTF8.self) }

    func didReceiveHead(_ head: HTTPResponseHead) {
        state.withLock {
            $0.status = head.status
            $0.contentType = head.value(forHeader: "content-type")
        }
    }

    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) {
        let first = state.withLock { state -> Bool in
            defer { state.body.append(contentsOf: bytes) }
            return state.body.isEmpty
        }
        if first { firstBytes?.signal() }
    }

    func didComplete(_ result: Result<Void, HTTPStreamError>) {
        if case .failure(let error) = result { state.withLock { $0.error = error } }
        done.signal()
    }
}
