import Foundation

/// The gateways of one multi-node comparison run: one node in memory (the embedded default), or
/// `nodes` nodes on one redis-server that chat-bench starts for the run (fresh, so its counters
/// and keys are the run's alone). Every node gets the same config but its node id; stopping
/// stops the nodes first (they would log Redis errors otherwise), then Redis.
final class BenchCluster {
    /// What a run compares: where the session log lives and how many nodes serve the clients.
    struct Layout: Equatable, Sendable {
        var nodes: Int
        var redis: Bool
        /// Nodes past the first run no workers (`workers.concurrency` 0): turns are then appended
        /// by node a and only fanned out by the others (the redis-ops report's shape).
        var workersOnFirstNodeOnly = false

        /// `memory-1`, `redis-1`, `redis-3`: the name in tables and results.
        var name: String { "\(redis ? "redis" : "memory")-\(nodes)" }
    }

    let layout: Layout
    let nodes: [ServerUnderTest]
    let redis: RedisServerProcess?

    var ports: [Int] { nodes.map(\.port) }

    /// Starts Redis (when the layout has it), then the nodes, each via `load.server` with
    /// `configure` applied to its launch.
    init(_ layout: Layout, load: LoadOptions, configure: (inout ServerUnderTest.Launch) -> Void) throws {
        guard load.url == nil else { throw BenchError("multinode starts its own nodes and redis-server: no --url") }
        self.layout = layout
        let redis = layout.redis ? try RedisServerProcess() : nil
        var nodes: [ServerUnderTest] = []
        do {
            for index in 0..<layout.nodes {
                nodes.append(try load.server(.gateway) { launch in
                    configure(&launch)
                    launch.redisURL = redis?.url
                    launch.nodeID = layout.nodes > 1 || layout.redis ? Self.nodeName(index) : nil
                    if layout.workersOnFirstNodeOnly && index > 0 { launch.workers = 0 }
                })
            }
        } catch {
            nodes.forEach { $0.stop() }
            redis?.stop()
            throw error
        }
        self.nodes = nodes
        self.redis = redis
    }

    /// a, b, c, ...: short, and what the welcome frames and the gateway's logs show.
    static func nodeName(_ index: Int) -> String {
        index < 26 ? String(UnicodeScalar(UInt8(97 + index))) : "n\(index)"
    }

    func stop() {
        nodes.forEach { $0.stop() }
        redis?.stop()
    }
}
