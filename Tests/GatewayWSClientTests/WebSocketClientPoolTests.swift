import Dispatch
import GatewayWSClient
import XCTest

/// The client pool against the gateway's own server over real loopback sockets: messages both
/// ways (whole and in many receive pieces), source-address binding, paced connects, closes from
/// either side, and connection failures.
final class WebSocketClientPoolTests: XCTestCase {
    private func options(port: Int, connections: Int) -> WebSocketClientOptions {
        var options = WebSocketClientOptions()
        options.port = port
        options.connections = connections
        // The server in this process already runs lws's libev loop, and lws's libev glue puts a
        // SIGINT watcher on every loop it creates: libev aborts on a signal watched by two loops.
        options.eventLoop = .poll
        return options
    }

    func testEveryConnectionGetsItsEchoesInOrderFromTheBoundSourceAddress() throws {
        let (server, serverHandler) = try EchoServerHandler.start(self)
        let handler = RecordingClientHandler(closeAfter: 3) { index in ["a\(index)", "b\(index)", "c\(index)"] }
        var options = options(port: server.boundPort, connections: 40)
        options.sourceAddress = "127.0.0.2"
        let pool = WebSocketClientPool(options: options, handler: handler)
        try pool.start()
        handler.waitUntil { $0.closes.count == 40 }
        pool.stop()

        let state = handler.snapshot
        for index in 0..<40 {
            XCTAssertEqual(state.received[index], ["echo:a\(index)", "echo:b\(index)", "echo:c\(index)"])
            XCTAssertEqual(state.closes[index], .closedByClient(code: 1000))
        }
        XCTAssertEqual(Set(serverHandler.remoteAddresses), ["127.0.0.2"])
        let counters = pool.counters
        XCTAssertEqual([counters.started, counters.open, counters.opened, counters.failed, counters.finished],
                       [40, 0, 40, 0, 40])
    }

    func testMessagesLargerThanTheReceiveChunkArriveWhole() throws {
        let (server, _) = try EchoServerHandler.start(self)
        let big = String(repeating: "0123456789", count: 5_000)  // 50 kB: 13 pieces of 4 kB
        let handler = RecordingClientHandler(closeAfter: 2) { _ in [big, "small"] }
        let pool = WebSocketClientPool(options: options(port: server.boundPort, connections: 2), handler: handler)
        try pool.start()
        handler.waitUntil { $0.closes.count == 2 }
        pool.stop()
        XCTAssertEqual(handler.snapshot.received[0], ["echo:" + big, "echo:small"])
        XCTAssertEqual(handler.snapshot.received[1], ["echo:" + big, "echo:small"])
    }

    func testEachConnectionCanHaveItsOwnPath() throws {
        let (server, _) = try EchoServerHandler.start(self)
        let handler = RecordingClientHandler(closeAfter: 1, paths: { $0 % 2 == 0 ? "/v1/echo" : nil }) { ["m\($0)"] }
        let pool = WebSocketClientPool(options: options(port: server.boundPort, connections: 6), handler: handler)
        try pool.start()
        handler.waitUntil { $0.closes.count == 6 }
        pool.stop()
        for index in 0..<6 {
            XCTAssertEqual(handler.snapshot.received[index], [index % 2 == 0 ? "m\(index)" : "echo:m\(index)"])
        }
    }

    func testServerCloseCodeAndFramesSentFromAnotherThread() throws {
        let (server, _) = try EchoServerHandler.start(self)
        let handler = RecordingClientHandler { _ in [] }
        let pool = WebSocketClientPool(options: options(port: server.boundPort, connections: 3), handler: handler)
        try pool.start()
        handler.waitUntil { $0.opened.count == 3 }
        pool.send([(0, Array("close:4008".utf8)), (1, Array("x".utf8)), (1, Array("close:4001".utf8))])
        handler.waitUntil { $0.closes.count == 2 }
        pool.stop()  // closes the third with 1000
        let state = handler.snapshot
        XCTAssertEqual(state.closes[0], .closedByServer(code: 4008))
        XCTAssertEqual(state.received[1], ["echo:x"])
        XCTAssertEqual(state.closes[1], .closedByServer(code: 4001))
        XCTAssertEqual(state.closes[2], .closedByClient(code: 1000))
    }

    func testConnectsArePacedAndLimitedInFlight() throws {
        let (server, _) = try EchoServerHandler.start(self)
        let handler = RecordingClientHandler { _ in [] }
        var options = options(port: server.boundPort, connections: 30)
        options.connectsPerSecond = 100
        options.maxPendingConnects = 2
        let started = DispatchTime.now()
        let pool = WebSocketClientPool(options: options, handler: handler)
        try pool.start()
        handler.waitUntil { $0.opened.count == 30 }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        pool.stop()
        // The 30th attempt may start no earlier than 29 / 100 s after the first.
        XCTAssertGreaterThanOrEqual(seconds, 0.29)
        XCTAssertEqual(handler.snapshot.closes.count, 30)
    }

    func testRefusedConnectionsAreReportedAsFailures() throws {
        let (server, _) = try EchoServerHandler.start(self)
        let port = server.boundPort
        server.stop()  // nothing listens there now
        let handler = RecordingClientHandler { _ in [] }
        let pool = WebSocketClientPool(options: options(port: port, connections: 5), handler: handler)
        try pool.start()
        handler.waitUntil { $0.closes.count == 5 }
        pool.stop()
        for index in 0..<5 {
            guard case .connectFailed? = handler.snapshot.closes[index] else {
                return XCTFail("connection \(index): \(String(describing: handler.snapshot.closes[index]))")
            }
        }
        XCTAssertEqual(pool.counters.failed, 5)
        XCTAssertTrue(handler.snapshot.opened.isEmpty)
    }

    func testOptionsThatCannotWorkAreRefused() {
        var options = options(port: 8080, connections: 1)
        options.host = "localhost"
        let pool = WebSocketClientPool(options: options, handler: RecordingClientHandler { _ in [] })
        XCTAssertThrowsError(try pool.start()) { error in
            guard case WebSocketClientError.invalidOptions = error else { return XCTFail("\(error)") }
        }
    }
}
