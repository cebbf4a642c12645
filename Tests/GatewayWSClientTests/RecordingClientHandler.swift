import Dispatch
import GatewayWSClient
import Synchronization
import XCTest

/// A client handler that sends `greeting(connection)` on open, records every message and close,
/// and closes a connection once it has received `closeAfter` messages (0: never).
final class RecordingClientHandler: WebSocketClientHandler {
    struct State {
        var opened: Set<Int> = []
        var received: [Int: [String]] = [:]
        var closes: [Int: ClientCloseReason] = [:]
    }

    let state = Mutex(State())
    private let greeting: @Sendable (Int) -> [String]
    private let closeAfter: Int
    private let paths: @Sendable (Int) -> String?

    init(closeAfter: Int = 0, paths: @escaping @Sendable (Int) -> String? = { _ in nil },
         greeting: @escaping @Sendable (Int) -> [String]) {
        self.greeting = greeting
        self.closeAfter = closeAfter
        self.paths = paths
    }

    func path(for connection: Int) -> String? { paths(connection) }

    var snapshot: State { state.withLock { $0 } }

    func clientOpened(_ connection: Int, outbox: inout ClientOutbox) {
        state.withLock { _ = $0.opened.insert(connection) }
        for text in greeting(connection) { outbox.send(Array(text.utf8)) }
    }

    func clientReceived(_ connection: Int, text: UnsafeRawBufferPointer, outbox: inout ClientOutbox) {
        let message = String(decoding: text, as: UTF8.self)
        let count = state.withLock { state -> Int in
            state.received[connection, default: []].append(message)
            return state.received[connection]!.count
        }
        if closeAfter > 0 && count == closeAfter { outbox.close(code: 1000) }
    }

    func clientClosed(_ connection: Int, reason: ClientCloseReason) {
        state.withLock { state in
            XCTAssertNil(state.closes[connection], "connection \(connection) reported closed twice")
            state.closes[connection] = reason
        }
    }

    /// Polls until `done` holds (at most `seconds`); fails the test if it never does.
    func waitUntil(seconds: Double = 10, file: StaticString = #filePath, line: UInt = #line,
                   _ done: (State) -> Bool) {
        let deadline = DispatchTime.now() + seconds
        while DispatchTime.now() < deadline {
            if done(snapshot) { return }
            usleep(5_000)
        }
        XCTFail("timed out; state: \(snapshot)", file: file, line: line)
    }
}
