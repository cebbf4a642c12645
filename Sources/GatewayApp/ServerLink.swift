import GatewayCore
import GatewayWebSocket

/// Lets the protocol handler reach the server that calls it (the two refer to each other).
/// @unchecked Sendable: `server` is written once, by `Gateway.start` before the server starts its
/// service thread, and only read afterwards.
final class ServerLink: @unchecked Sendable {
    private(set) weak var server: WebSocketServer?

    func attach(_ server: WebSocketServer) { self.server = server }

    func deliver(_ fanout: Fanout) {
        guard let server else { return }
        if !fanout.wake.isEmpty { server.wake(fanout.wake) }
        for connection in fanout.slowConsumers {
            server.close(connection, code: CloseCode.slowConsumer, reason: "slow consumer")
        }
    }

    func wake(_ connection: ConnectionID) { server?.wake(CollectionOfOne(connection)) }

    func close(_ connection: ConnectionID, code: UInt16, reason: String) {
        server?.close(connection, code: code, reason: reason)
    }
}
