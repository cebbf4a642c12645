import Foundation
import GatewayRedis
@preconcurrency import Glibc

/// One fan-out run on one layout: starts the layout's gateways (and Redis), client processes in
/// a multiple of the node count (so each session's subscribers go round-robin over the nodes),
/// reads Redis's counters over an idle window and over the turns, and measures every node.
enum MultinodeRun {
    struct Shape {
        var sessions: Int
        var subscribersPerSession: Int
        var tokensPerSecond: Double
        var tokens: Int
        var staggerMilliseconds: Double?
        /// Idle window before the turns, for the nodes' background Redis commands (0: none).
        var backgroundSeconds: Double
        /// Client processes per node.
        var processesPerNode: Int
    }

    static func measure(_ layout: BenchCluster.Layout, _ shape: Shape, run: Int, load: LoadOptions) throws -> MultinodeMeasurement {
        let connections = shape.sessions * shape.subscribersPerSession
        let processes = layout.nodes * shape.processesPerNode
        try load.checkFileLimits(connections: connections, processes: processes, launchingGateway: true)
        let cluster = try BenchCluster(layout, load: load) { launch in
            launch.tokensPerSecond = shape.tokensPerSecond
            launch.tokensPerTurn = shape.tokens
            launch.concurrentTurns = shape.sessions
            launch.maxEvents = max(4096, shape.tokens + 64)
        }
        defer { cluster.stop() }
        let redis = cluster.redis.map { RedisClient(endpoint: RedisEndpoint(address: .tcp(host: "127.0.0.1", port: $0.port)),
                                                     options: RedisClientOptions(threadName: "bench-info")) }
        defer { redis?.shutdown() }

        let plan = ChatLoadPlan(sessionPrefix: "multinode-\(getpid())-\(run)", totalConnections: connections,
                                subscribersPerSession: shape.subscribersPerSession, sendsTurns: true)
        let readyTimeout = 30 + Double(connections) / 500
        let turnTimeout = Double(shape.tokens) / shape.tokensPerSecond + 30
        let first = cluster.nodes[0]
        let template = WorkerPlan(host: first.host, port: first.port, path: first.path, subprotocol: "chat.v1", load: plan,
                                  connectsPerSecond: load.connectsPerSecond, maxPendingConnects: load.maxPendingConnects,
                                  expectedTokensPerTurn: shape.tokens,
                                  staggerMilliseconds: shape.staggerMilliseconds ?? 1000 / shape.tokensPerSecond,
                                  readyTimeoutSeconds: readyTimeout, turnTimeoutSeconds: turnTimeout)
        let fleet = try WorkerFleet(plan: plan, processes: processes, template: template, run: run, ports: cluster.ports)
        do {
            _ = try fleet.awaitAll("ready", as: WorkerStatus.self, timeoutSeconds: readyTimeout + 10)
            var background: RedisCounters?
            var backgroundSeconds = 0.0
            if let redis {
                // The nodes' steady background is a few commands a second each.
                _ = try RedisCounters.settle(redis, quietCommands: 5 * layout.nodes, timeoutSeconds: 10)
            }
            if let redis, shape.backgroundSeconds > 0 {
                let before = try RedisCounters.read(redis)
                let started = Date()
                usleep(UInt32(shape.backgroundSeconds * 1_000_000))
                background = before.delta(to: try RedisCounters.read(redis))
                backgroundSeconds = Date().timeIntervalSince(started)
            }
            let countersStart = try redis.map { try RedisCounters.read($0) }
            let countersStarted = Date()
            let clientsStart = fleet.samples()
            let nodeStart = try cluster.nodes.map { try $0.sample() }
            let redisStart = try cluster.redis?.sample()
            let goMilliseconds = WallClock.milliseconds()
            fleet.broadcast("go")
            _ = try fleet.awaitAll("done", as: WorkerStatus.self, timeoutSeconds: turnTimeout + 10)
            let nodeEnd = try cluster.nodes.map { try $0.sample() }
            let redisEnd = try cluster.redis?.sample()
            let clientsEnd = fleet.samples()
            let countersEnd = try redis.map { try RedisCounters.read($0) }
            let countersSeconds = Date().timeIntervalSince(countersStarted)
            let tally = try fleet.finish(timeoutSeconds: 30)
            var ops: RedisOps?
            if let countersStart, let countersEnd {
                ops = RedisOps(run: countersStart.delta(to: countersEnd), runSeconds: countersSeconds, background: background,
                               backgroundSeconds: backgroundSeconds, turns: shape.sessions, tokens: shape.sessions * shape.tokens)
            }
            let clientCPU = zip(clientsStart, clientsEnd).reduce(0) { $0 + $1.1.cpuSeconds - $1.0.cpuSeconds }
            return MultinodeMeasurement(layout: layout, sessions: shape.sessions, subscribersPerSession: shape.subscribersPerSession,
                                        tokensPerSecond: shape.tokensPerSecond, tokensPerTurn: shape.tokens, processes: processes,
                                        tally: tally,
                                        seconds: Double((tally.lastEventMilliseconds ?? goMilliseconds) - goMilliseconds) / 1000,
                                        nodeStart: nodeStart, nodeEnd: nodeEnd, redisStart: redisStart, redisEnd: redisEnd,
                                        clientCPUSeconds: clientCPU, redisOps: ops)
        } catch {
            fleet.abandon()
            throw error
        }
    }
}
