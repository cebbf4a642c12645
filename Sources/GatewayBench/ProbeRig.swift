import Foundation
import GatewayWSClient

/// What the latency scenarios (ttft, stop) run on: a freshly started gateway streaming from
/// chat-bench's HTTP upstream, and one probe connection joined to a session of its own.
final class ProbeRig {
    let server: ServerUnderTest
    let probe: TurnProbe
    private let pool: WebSocketClientPool

    var upstream: UpstreamProcess { server.upstream! }

    init(gatewayBinary: String?, tokensPerSecond: Double, tokensPerTurn: Int, session: String) throws {
        var load = LoadOptions()
        load.gatewayBinary = gatewayBinary
        server = try load.server(.gatewayUpstream) { launch in
            launch.tokensPerSecond = tokensPerSecond
            launch.tokensPerTurn = tokensPerTurn
            launch.concurrentTurns = 4
        }
        probe = TurnProbe(session: session)
        var options = WebSocketClientOptions()
        options.host = server.host
        options.port = server.port
        options.path = server.path
        options.connections = 1
        pool = WebSocketClientPool(options: options, handler: probe)
        do {
            try pool.start()
            _ = try probe.await("joined", within: 10) { $0 == .joined }
        } catch {
            pool.stop()
            server.stop()
            throw error
        }
    }

    /// Any thread: one frame on the probe connection, and the wall-clock µs just before it was handed over.
    @discardableResult
    func send(_ frame: [UInt8]) -> Int {
        let now = WallClock.microseconds()
        pool.send([(0, frame)])
        return now
    }

    func stop() {
        pool.stop()
        server.stop()
    }
}
