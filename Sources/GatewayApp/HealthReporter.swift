import GatewayCore
import GatewayWebSocket
import Synchronization

/// Answers `/healthz` (the process is alive, with a few gauges) and `/readyz` (it should get
/// traffic: 503 while starting or draining, so a load balancer moves clients elsewhere).
final class HealthReporter: Sendable {
    enum Phase: String, Sendable {
        case starting, ready, draining
    }

    private let nodeID: String
    private let startedAt = WallClock.millis()
    private let phase = Mutex(Phase.starting)

    init(nodeID: String) { self.nodeID = nodeID }

    func set(_ newPhase: Phase) { phase.withLock { $0 = newPhase } }

    func response(forPath path: String, connections: Int, sessions: Int, runningTurns: Int) -> HTTPResponse {
        var json = JSONWriter()
        json.beginObject()
        let current = phase.withLock { $0 }
        let status: Int
        switch path {
        case "/readyz":
            status = current == .ready ? 200 : 503
            json.field("status", current.rawValue)
            json.field("node", nodeID)
        default:
            status = 200
            json.field("status", "ok")
            json.field("node", nodeID)
            json.field("phase", current.rawValue)
            json.field("uptime_s", (WallClock.millis() - startedAt) / 1000)
            json.field("connections", connections)
            json.field("sessions", sessions)
            json.field("turns_running", runningTurns)
            json.field("state_backend", "memory")
        }
        json.endObject()
        return HTTPResponse(status: status, body: json.bytes)
    }
}
