import GatewayCore
import GatewayWebSocket
import Synchronization

/// Answers `/healthz` (the process is alive, with a few gauges) and `/readyz` (it should get
/// traffic: 503 while starting or draining, so a load balancer moves clients elsewhere, and
/// `degraded`, also 503, while the node cannot reach Redis in multi-node mode: its clients still
/// get what the node itself does, but no new turns and no other node's events).
final class HealthReporter: Sendable {
    enum Phase: String, Sendable {
        case starting, ready, draining
    }

    private let nodeID: String
    private let startedAt = WallClock.millis()
    private let phase = Mutex(Phase.starting)
    /// Redis mode: whether every Redis connection of the node is up; nil in memory mode.
    private let redisUp: (@Sendable () -> Bool)?

    init(nodeID: String, redisUp: (@Sendable () -> Bool)? = nil) {
        self.nodeID = nodeID
        self.redisUp = redisUp
    }

    func set(_ newPhase: Phase) { phase.withLock { $0 = newPhase } }

    func response(forPath path: String, connections: Int, sessions: Int, runningTurns: Int) -> HTTPResponse {
        var json = JSONWriter()
        json.beginObject()
        let current = phase.withLock { $0 }
        let status: Int
        switch path {
        case "/readyz":
            let degraded = current == .ready && redisUp?() == false
            status = current == .ready && !degraded ? 200 : 503
            json.field("status", degraded ? "degraded" : current.rawValue)
            json.field("node", nodeID)
            if let redisUp { json.field("redis", redisUp() ? "up" : "down") }
        default:
            status = 200
            json.field("status", "ok")
            json.field("node", nodeID)
            json.field("phase", current.rawValue)
            json.field("uptime_s", (WallClock.millis() - startedAt) / 1000)
            json.field("connections", connections)
            json.field("sessions", sessions)
            json.field("turns_running", runningTurns)
            json.field("state_backend", redisUp == nil ? "memory" : "redis")
            if let redisUp { json.field("redis", redisUp() ? "up" : "down") }
        }
        json.endObject()
        return HTTPResponse(status: status, body: json.bytes)
    }
}
