import GatewayCore
import GatewayWebSocket
import Synchronization
import XCTest

/// The gateway's own WebSocket server on a free port, answering the chat path the simplest way:
/// `close:CODE` closes the connection from the server with CODE, anything else comes back as
/// `echo:` + text. It records the peer address of every connection.
final class EchoServerHandler: WebSocketServerHandler {
    struct State {
        var remoteAddresses: [String] = []
        var outbound: [ConnectionID: [OutboundAction]] = [:]
    }

    let state = Mutex(State())
    let server = Mutex<WebSocketServer?>(nil)

    var remoteAddresses: [String] { state.withLock { $0.remoteAddresses } }

    func connectionOpened(_ connection: ConnectionID, remoteAddress: String) {
        state.withLock { $0.remoteAddresses.append(remoteAddress) }
    }

    func connectionReceived(_ connection: ConnectionID, text: [UInt8]) {
        let message = String(decoding: text, as: UTF8.self)
        let action: OutboundAction
        if message.hasPrefix("close:"), let code = UInt16(message.dropFirst(6)) {
            action = .close(code: code, reason: "asked to")
        } else {
            action = .frame(Array("echo:".utf8) + text)
        }
        state.withLock { $0.outbound[connection, default: []].append(action) }
        server.withLock { $0 }?.wake([connection])
    }

    func connectionClosed(_ connection: ConnectionID) {
        state.withLock { $0.outbound[connection] = nil }
    }

    func nextOutbound(for connection: ConnectionID) -> OutboundAction {
        state.withLock { state in
            guard var queue = state.outbound[connection], !queue.isEmpty else { return .idle }
            let next = queue.removeFirst()
            state.outbound[connection] = queue
            return next
        }
    }

    func httpResponse(forPath path: String) -> HTTPResponse { HTTPResponse(status: 404, body: []) }

    static func start(_ test: XCTestCase) throws -> (WebSocketServer, EchoServerHandler) {
        var options = WebSocketServerOptions()
        options.port = 0
        options.staticRoot = nil
        options.echoEnabled = true  // /v1/echo sends messages back as they are, no prefix
        let handler = EchoServerHandler()
        let server = WebSocketServer(options: options, handler: handler)
        handler.server.withLock { $0 = server }
        try server.start()
        test.addTeardownBlock {
            server.stop()
            handler.server.withLock { $0 = nil }
        }
        return (server, handler)
    }
}
