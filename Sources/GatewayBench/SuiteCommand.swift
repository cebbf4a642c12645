import Foundation

/// `chat-bench suite --profile short|full`: every scenario of a `BenchProfile` in one run, each
/// table printed as it finishes, then one results file for the lot, `<date>.json` (the full
/// profile's `<date>-full.json`), and `<date>.md`: the side-by-side summary (`SuiteSummary`:
/// gateway, gateway with an HTTP upstream, lws-ceiling, nginx + nchan, the ratios, the issue's
/// targets), then every scenario's own table, the machine and how long the run took.
public enum SuiteCommand {
    public struct Options: Sendable {
        public var profile = BenchProfile.short
        public var load = LoadOptions()
        public var workloadPath = CostReplayCommand.Options().workloadPath
        public var costConfigPath = CostReplayCommand.Options().configPath
        public init() {}
    }

    @discardableResult
    public static func run(_ options: Options, print report: (String) -> Void) throws -> String {
        let started = Date()
        var results = SuiteResults(profile: options.profile)
        var sections: [String] = []
        func section(_ lines: [String]) {
            report(lines.joined(separator: "\n") + "\n")
            sections.append(lines.joined(separator: "\n"))
        }

        var replay = CostReplayCommand.Options()
        replay.workloadPath = options.workloadPath
        replay.configPath = options.costConfigPath
        let costs = try CostReplayCommand.replay(replay)
        results.costReplay = costs
        section([costs.markdown])

        var idle = IdleCommand.Options()
        idle.connections = options.profile.idleConnections
        idle.holdSeconds = options.profile.idleHoldSeconds
        idle.load = options.load
        idle.load.servers = BenchProfile.idleServers
        results.idle = try IdleCommand.sweep(idle, progress: report)
        results.idleOptions = idle
        section(IdleCommand.table(results.idle, idle))

        for shape in options.profile.fanoutShapes {
            var fanout = FanoutCommand.Options()
            fanout.sessions = shape.sessions
            fanout.subscribersPerSession = shape.subscribersPerSession
            fanout.tokensPerSecond = shape.tokensPerSecond
            fanout.seconds = shape.seconds
            fanout.load = options.load
            fanout.load.servers = BenchProfile.fanoutServers
            let runs = try FanoutCommand.sweep(fanout, progress: report)
            results.fanout.append(SuiteResults.FanoutRuns(shape: shape, options: fanout, runs: runs))
            section(["fanout \(shape.name):"] + FanoutCommand.table(runs, fanout))
        }

        var multinode = MultinodeCommand.Options()
        let shape = options.profile.multinode
        multinode.sessions = shape.sessions
        multinode.subscribersPerSession = shape.subscribersPerSession
        multinode.tokensPerSecond = shape.tokensPerSecond
        multinode.seconds = shape.seconds
        multinode.nodes = shape.nodes
        multinode.backgroundSeconds = shape.backgroundSeconds
        multinode.load = options.load
        let nodes = try MultinodeCommand.sweep(multinode, progress: report)
        results.multinode = (multinode, nodes)
        section(["multinode:"] + MultinodeCommand.table(nodes, multinode))

        var ttft = TTFTCommand.Options()
        ttft.turns = options.profile.ttftTurns
        ttft.warmupTurns = min(ttft.warmupTurns, options.profile.ttftTurns)
        ttft.gatewayBinary = options.load.gatewayBinary
        report("ttft: \(ttft.turns) turns on each path...")
        let latency = try TTFTCommand.measure(ttft)
        results.ttft = latency
        section(latency.markdown)

        var stop = StopCommand.Options()
        stop.stops = options.profile.stops
        stop.gatewayBinary = options.load.gatewayBinary
        report("stop: \(stop.stops) stops...")
        let stops = try StopCommand.measure(stop)
        results.stop = stops
        section(stops.markdown)

        let elapsed = Date().timeIntervalSince(started)
        let summary = SuiteSummary(results: results)
        let name = ResultsFile.utcDate() + (options.profile.name == "short" ? "" : "-\(options.profile.name)")
        let path = try ResultsFile.write(results.json(elapsedSeconds: elapsed, summary: summary), name: name,
                                        directory: options.load.outputDirectory)
        let markdown = summary.markdown(elapsedSeconds: elapsed) + ["", "## Each scenario", ""] + sections.map { $0 + "\n" }
        let markdownPath = try ResultsFile.writeText(markdown.joined(separator: "\n") + "\n", name: name,
                                                    directory: options.load.outputDirectory)
        report(summary.markdown(elapsedSeconds: elapsed).joined(separator: "\n"))
        report("\nwrote \(path) and \(markdownPath)")
        return path
    }
}
