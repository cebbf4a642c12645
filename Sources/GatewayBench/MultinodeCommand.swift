import Foundation

/// `chat-bench multinode`: the fan-out scenario on one gateway in memory, one gateway on Redis and
/// N gateways on that one Redis (a redis-server chat-bench starts per run), each at every rate,
/// each freshly started. On N nodes each session's subscribers go round-robin over the nodes, so
/// every token crosses nodes through Redis pub/sub. Reports per run what `fanout` does (frames/s,
/// tokens/s, latency `now - ts`: on Redis `ts` is Redis's TIME, same machine, same clock), every
/// node's CPU and RSS, redis-server's CPU, and the Redis commands per token and per turn from
/// `INFO` deltas; then N nodes over one node.
public enum MultinodeCommand {
    public struct Options: Sendable {
        public var sessions = 20
        public var subscribersPerSession = 6
        public var tokensPerSecond: [Double] = [20]
        public var tokens: Int?
        public var seconds: Double?
        public var nodes = 3
        /// Client processes per node (each connects to one node only).
        public var processesPerNode = 1
        /// Idle window before each Redis run's turns, for the nodes' background commands.
        public var backgroundSeconds = 1.0
        public var latencyTargetMilliseconds = 50.0
        public var staggerMilliseconds: Double?
        public var load = LoadOptions()
        public init() {}

        func tokens(at rate: Double) -> Int {
            tokens ?? seconds.map { max(1, Int(($0 * rate).rounded())) } ?? 60
        }

        /// One node in memory, one on Redis, N on Redis: the comparison in one run.
        var layouts: [BenchCluster.Layout] {
            [BenchCluster.Layout(nodes: 1, redis: false), BenchCluster.Layout(nodes: 1, redis: true),
             BenchCluster.Layout(nodes: nodes, redis: true)]
        }
    }

    @discardableResult
    public static func run(_ options: Options, print report: (String) -> Void) throws -> String {
        let runs = try sweep(options, progress: report)
        report(table(runs, options).joined(separator: "\n"))
        let path = try ResultsFile.write(json(runs, options), scenario: "multinode", label: options.load.label,
                                        directory: options.load.outputDirectory)
        report("\nwrote \(path)")
        return path
    }

    static func sweep(_ options: Options, progress: (String) -> Void) throws -> [MultinodeMeasurement] {
        guard options.nodes >= 2 else { throw BenchError("--nodes: at least 2 (one node is always run for the comparison)") }
        guard options.sessions <= 10_000 else { throw BenchError("--sessions: at most 10,000 (workers.concurrency)") }
        var runs: [MultinodeMeasurement] = []
        for rate in options.tokensPerSecond {
            for layout in options.layouts {
                progress("multinode: \(options.sessions) x \(options.subscribersPerSession) at \(rate.formatted()) tokens/s, "
                         + "\(options.tokens(at: rate)) tokens, \(layout.name)...")
                let shape = MultinodeRun.Shape(sessions: options.sessions, subscribersPerSession: options.subscribersPerSession,
                                               tokensPerSecond: rate, tokens: options.tokens(at: rate),
                                               staggerMilliseconds: options.staggerMilliseconds,
                                               backgroundSeconds: layout.redis ? options.backgroundSeconds : 0,
                                               processesPerNode: options.processesPerNode)
                runs.append(try MultinodeRun.measure(layout, shape, run: runs.count, load: options.load))
            }
        }
        return runs
    }

    static func table(_ runs: [MultinodeMeasurement], _ options: Options) -> [String] {
        let comparison = MultinodeComparison(runs: runs, latencyTargetMilliseconds: options.latencyTargetMilliseconds)
        var lines = ["multinode: \(options.nodes) gateway nodes on one redis-server, each session's subscribers round-robin "
                     + "over the nodes, vs one node in memory and one on Redis; latency is now - ts (on Redis ts is Redis "
                     + "TIME, in ms); node CPU and RSS per node; Redis commands from INFO over the turns", "",
                     MultinodeMeasurement.markdownHeader] + runs.map(\.markdownRow) + [""]
        for run in runs {
            guard let ops = run.redisOps else { continue }
            lines += ops.lines(label: "\(run.layout.name) at \(run.tokensPerSecond.formatted()) tokens/s")
        }
        return lines + [""] + comparison.summaryLines
    }

    static func json(_ runs: [MultinodeMeasurement], _ options: Options) -> [String: Any] {
        let comparison = MultinodeComparison(runs: runs, latencyTargetMilliseconds: options.latencyTargetMilliseconds)
        var json: [String: Any] = [
            "scenario": "multinode", "date": ResultsFile.utcDate(), "machine": ResultsFile.machine,
            "label": options.load.label ?? NSNull(), "nodes": options.nodes,
            "latency_target_ms": options.latencyTargetMilliseconds, "runs": runs.map(\.json),
        ]
        json.merge(comparison.json) { $1 }
        return json
    }
}
