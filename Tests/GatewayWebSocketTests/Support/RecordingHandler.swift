import Dispatch
import Foundation
import GatewayCore
import GatewayWebSocket
import Synchronization
import XCTest

/// A handler that records every call and answers text commands through `nextOutbound` + `wake`,
/// the way the application does:
/// - `burst:N` queues N frames `frame-0`… and wakes once;
/// - `trickle:N` queues N frames one by one from another thread, waking after each;
/// - `close-other-thread:CODE` calls `server.close` from another thread;
/// - `close-outbound:CODE` answers `.close` from `nextOutbound`;
/// - `last-frame` queues `.lastFrame("first")` and `.frame("second")` and wakes once;
/// - anything else is answered with `echo:` + text.
final class RecordingHandler: WebSocketServerHandler {
    struct State {
        var opened: [ConnectionID] = []
        var remoteAddresses: [String] = []
        var received: [String] = []
        var closed: [ConnectionID] = []
        var outbound: [ConnectionID: [OutboundAction]] = [:]
        /// Messages received (`in:`) and frames handed out (`out:`), in the order they happened.
        var order: [String] = []
    }

    let state = Mutex(State())
    let server = Mutex<WebSocketServer?>(nil)

    var snapshot: State { state.withLock { $0 } }

    func connectionOpened(_ connection: ConnectionID, remoteAddress: String) {
        state.withLock {
            $0.opened.append(connection)
            $0.remoteAddresses.append(remoteAddress)
        }
    }

    func connectionReceived(_ connection: ConnectionID, text: [UInt8]) {
        let message = String(decoding: text, as: UTF8.self)
        state.withLock {
            $0.received.append(message)
            $0.order.append("in:\(message)")
        }
        let (command, argument) = Self.parse(message)
        switch command {
        case "burst":
            enqueue((0..<argument).map { .frame(Array("frame-\($0)".utf8)) }, for: connection)
        case "trickle":
            DispatchQueue.global().async {
                for index in 0..<argument {
                    self.enqueue([.frame(Array("frame-\(index)".utf8))], for: connection)
                }
            }
        case "close-other-thread":
            let server = self.server.withLock { $0 }
            DispatchQueue.global().async {
                server?.close(connection, code: UInt16(argument), reason: "slow consumer")
            }
        case "last-frame":
            enqueue([.lastFrame(Array("first".utf8)), .frame(Array("second".utf8))], for: connection)
        case "close-outbound":
            enqueue([.close(code: UInt16(argument), reason: "bye")], for: connection)
        default:
            enqueue([.frame(Array("echo:\(message)".utf8))], for: connection)
        }
    }

    func connectionClosed(_ connection: ConnectionID) {
        state.withLock {
            $0.closed.append(connection)
            $0.outbound[connection] = nil
        }
    }

    func nextOutbound(for connection: ConnectionID) -> OutboundAction {
        state.withLock { state in
            guard var queue = state.outbound[connection], !queue.isEmpty else { return .idle }
            let next = queue.removeFirst()
            state.outbound[connection] = queue
            switch next {
            case .frame(let bytes), .lastFrame(let bytes): state.order.append("out:" + String(decoding: bytes, as: UTF8.self))
            case .close, .idle: break
            }
            return next
        }
    }

    func httpResponse(forPath path: String) -> HTTPResponse {
        HTTPResponse(status: 200, body: Array(#"{"status":"ok","path":"\#(path)"}"#.utf8))
    }

    private func enqueue(_ actions: [OutboundAction], for connection: ConnectionID) {
        state.withLock { $0.outbound[connection, default: []].append(contentsOf: actions) }
        server.withLock { $0 }?.wake([connection])
    }

    private static func parse(_ message: String) -> (String, Int) {
        let parts = message.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let number = Int(parts[1]) else { return (message, 0) }
        return (String(parts[0]), number)
    }

    /// Polls `condition` until it holds or `timeout` passes (no fixed sleeps in tests).
    func waitUntil(timeout: TimeInterval = 5, file: StaticString = #filePath, line: UInt = #line,
                   _ condition: (State) -> Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(snapshot) {
            if Date() > deadline {
                XCTFail("condition not met within \(timeout) s; state: \(snapshot)", file: file, line: line)
                return
            }
            usleep(2_000)
        }
    }
}

/// Starts a server on 127.0.0.1, port 0, with `configure` applied; stops it at the end of the test.
func startServer(_ test: XCTestCase, handler: RecordingHandler = RecordingHandler(),
                 configure: (inout WebSocketServerOptions) -> Void = { _ in }) throws -> (WebSocketServer, RecordingHandler) {
    var options = WebSocketServerOptions()
    options.port = 0
    configure(&options)
    let server = WebSocketServer(options: options, handler: handler)
    handler.server.withLock { $0 = server }
    try server.start()
    test.addTeardownBlock {
        server.stop()
        handler.server.withLock { $0 = nil }
    }
    return (server, handler)
}
