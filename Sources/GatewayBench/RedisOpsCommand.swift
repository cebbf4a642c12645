import Foundation

/// `chat-bench redis-ops`: what a turn costs Redis in the multi-node mode, without the rest of the
/// bench. Two nodes on a redis-server of chat-bench's own; N sessions, each with its sender on
/// node a (the only node with workers, so a runs every turn and appends every event) and one
/// subscriber on node b (so b mirrors the session through pub/sub, as a node with a remote
/// reader does); every session streams one turn of T demo-model tokens. Prints the Redis
/// commands over the turns (`INFO commandstats` and `total_commands_processed` deltas) per token
/// appended and per turn, each command's share, and the nodes' background rate measured first.
public enum RedisOpsCommand {
    public struct Options: Sendable {
        public var turns = 20
        public var tokens = 100
        public var tokensPerSecond = 200.0
        public var backgroundSeconds = 2.0
        public var load = LoadOptions()
        public init() {}
    }

    /// Sender on node a, one subscriber on node b, turns run on a only.
    static let layout = BenchCluster.Layout(nodes: 2, redis: true, workersOnFirstNodeOnly: true)

    @discardableResult
    public static func run(_ options: Options, print report: (String) -> Void) throws -> String {
        report("redis-ops: \(options.turns) turns of \(options.tokens) tokens at \(options.tokensPerSecond.formatted()) tokens/s, "
               + "sender and turns on node a, one subscriber on node b...")
        let measurement = try measure(options)
        guard let ops = measurement.redisOps else { throw BenchError("redis-ops: no Redis counters were read") }
        report((lines(measurement, ops)).joined(separator: "\n"))
        var json: [String: Any] = ["scenario": "redis-ops", "date": ResultsFile.utcDate(), "machine": ResultsFile.machine,
                                   "label": options.load.label ?? NSNull(), "run": measurement.json]
        json.merge(ops.json) { $1 }
        let path = try ResultsFile.write(json, scenario: "redis-ops", label: options.load.label,
                                        directory: options.load.outputDirectory)
        report("\nwrote \(path)")
        return path
    }

    static func measure(_ options: Options) throws -> MultinodeMeasurement {
        let shape = MultinodeRun.Shape(sessions: options.turns, subscribersPerSession: 2, tokensPerSecond: options.tokensPerSecond,
                                       tokens: options.tokens, staggerMilliseconds: nil,
                                       backgroundSeconds: options.backgroundSeconds, processesPerNode: 1)
        let measurement = try MultinodeRun.measure(layout, shape, run: 0, load: options.load)
        guard measurement.everySubscriberComplete else {
            throw BenchError("redis-ops: \(measurement.tally.completeSubscribers) of \(measurement.subscribers) subscribers got "
                             + "their whole turn (errors \(measurement.tally.errors)): the counts would not be per turn")
        }
        return measurement
    }

    static func lines(_ measurement: MultinodeMeasurement, _ ops: RedisOps) -> [String] {
        [MultinodeMeasurement.markdownHeader, measurement.markdownRow, ""] + ops.lines(label: "redis-ops")
            + ["  the counts include the commands Lua runs inside each EVALSHA (Redis 7 counts every call); evalsha per "
               + "token is the round trips a token costs the appending node. Redis 7.0's INFO does not count pub/sub "
               + "messages delivered: each PUBLISH here reaches the \(layout.nodes) nodes that mirror the session."]
    }
}
