import Foundation

/// `chat-bench fanout`: S sessions x K subscribers; the first subscriber of each session sends a
/// message and the model streams the reply at R tokens/s to all K (the demo model, chat-bench's
/// HTTP upstream for `gateway-upstream`, the ceiling's ticker; for nchan, chat-bench publishes).
/// Reports what was delivered (frames/s, tokens/s: a merged delta counts for every token it
/// covers), the event latency (`now - ts`), token latency where tokens carry their write time, the
/// server's CPU and RSS, and checks every subscriber got every token.
/// Several rates (and `--servers`) in one invocation are a sweep, each run on a freshly started
/// server (see `FanoutSweep`).
public enum FanoutCommand {
    public struct Options: Sendable {
        public var sessions = 10
        public var subscribersPerSession = 10
        public var tokensPerSecond: [Double] = [20]
        /// Turn length; nil: `seconds` x rate, or 60 when neither is given.
        public var tokens: Int?
        public var seconds: Double?
        public var latencyTargetMilliseconds = 50.0
        /// Window the turn starts are spread over; nil: one token interval (1 / rate), so the
        /// sessions' tokens are appended evenly rather than all in the same instant.
        public var staggerMilliseconds: Double?
        public var load = LoadOptions()
        public init() {}

        func tokens(at rate: Double) -> Int {
            tokens ?? seconds.map { max(1, Int(($0 * rate).rounded())) } ?? 60
        }
    }

    @discardableResult
    public static func run(_ options: Options, print report: (String) -> Void) throws -> String {
        let measurements = try sweep(options, progress: report)
        report(table(measurements, options).joined(separator: "\n"))
        let path = try ResultsFile.write(json(measurements, options), scenario: "fanout", label: options.load.label,
                                        directory: options.load.outputDirectory)
        report("\nwrote \(path)")
        return path
    }

    /// Every rate on every server, in order.
    static func sweep(_ options: Options, progress: (String) -> Void) throws -> [FanoutMeasurement] {
        if options.load.url == nil {
            // Streams queue behind the worker pool otherwise; the gateway's limit is 10,000.
            guard options.sessions <= 10_000 else { throw BenchError("--sessions: at most 10,000 (workers.concurrency)") }
        }
        var measurements: [FanoutMeasurement] = []
        for rate in options.tokensPerSecond {
            for server in options.load.servers {
                progress("fanout: \(options.sessions) x \(options.subscribersPerSession) at \(rate) tokens/s, "
                         + "\(options.tokens(at: rate)) tokens, \(server.rawValue)...")
                measurements.append(try measure(rate: rate, server: server, run: measurements.count, options: options))
            }
        }
        return measurements
    }

    static func table(_ measurements: [FanoutMeasurement], _ options: Options) -> [String] {
        let sweep = FanoutSweep(runs: measurements, latencyTargetMilliseconds: options.latencyTargetMilliseconds)
        var lines = ["fanout: event latency is now - ts (ts is rounded to the ms: each value is within 0.5 ms; below 0 counts as 0); "
                     + "token latency is now - the upstream's or publisher's write stamp (µs)", "",
                     FanoutMeasurement.markdownHeader] + measurements.map(\.markdownRow)
        let notes = measurements.compactMap(\.sourceNote)
        if !notes.isEmpty { lines += [""] + notes }
        return lines + [""] + sweep.summaryLines
    }

    static func json(_ measurements: [FanoutMeasurement], _ options: Options) -> [String: Any] {
        let sweep = FanoutSweep(runs: measurements, latencyTargetMilliseconds: options.latencyTargetMilliseconds)
        var json: [String: Any] = [
            "scenario": "fanout",
            "date": ResultsFile.utcDate(),
            "machine": ResultsFile.machine,
            "gateway": options.load.url ?? "started by chat-bench",
            "label": options.load.label ?? NSNull(),
            "latency_target_ms": options.latencyTargetMilliseconds,
            "runs": measurements.map(\.json),
        ]
        json.merge(sweep.json) { $1 }
        return json
    }

    static func measure(rate: Double, server: ServerKind, run: Int, options: Options) throws -> FanoutMeasurement {
        let tokens = options.tokens(at: rate)
        let connections = options.sessions * options.subscribersPerSession
        let processes = options.load.processes ?? 1
        // A gateway with an upstream holds one more socket per streaming session.
        try options.load.checkFileLimits(connections: connections, processes: processes, launchingGateway: options.load.url == nil,
                                         extraServerSockets: server.needsUpstream ? options.sessions : 0)
        let gateway = try options.load.server(server) { launch in
            launch.tokensPerSecond = rate
            launch.tokensPerTurn = tokens
            launch.concurrentTurns = options.sessions
            launch.maxEvents = max(4096, tokens + 64)
        }
        defer { gateway.stop() }

        // nchan's subscribers send nothing: the coordinator publishes their tokens.
        let plan = ChatLoadPlan(sessionPrefix: "fanout-\(getpid())-\(run)", totalConnections: connections,
                                subscribersPerSession: options.subscribersPerSession, sendsTurns: server != .nchan,
                                flavor: server.flavor)
        let readyTimeout = 30 + Double(connections) / 500
        let turnTimeout = Double(tokens) / rate + 30
        let template = WorkerPlan(host: gateway.host, port: gateway.port, path: gateway.path,
                                  subprotocol: server.flavor == .chatV1 ? "chat.v1" : nil, load: plan,
                                  connectsPerSecond: options.load.connectsPerSecond,
                                  maxPendingConnects: options.load.maxPendingConnects,
                                  expectedTokensPerTurn: gateway.isLaunchedHere ? tokens : nil,
                                  staggerMilliseconds: options.staggerMilliseconds ?? 1000 / rate,
                                  readyTimeoutSeconds: readyTimeout, turnTimeoutSeconds: turnTimeout)
        let fleet = try WorkerFleet(plan: plan, processes: processes, template: template, run: run)
        do {
            _ = try fleet.awaitAll("ready", as: WorkerStatus.self, timeoutSeconds: readyTimeout + 10)
            let clientsStart = fleet.samples()
            let start = try gateway.sample()
            let publisher = server == .nchan
                ? NchanPublisher(baseURL: "http://\(gateway.host):\(gateway.port)/pub/",
                                 channels: (0..<plan.sessionCount).map(plan.sessionName), tokens: tokens,
                                 tokensPerSecond: rate, staggerMilliseconds: template.staggerMilliseconds)
                : nil
            let sourcePid = publisher == nil ? gateway.upstream?.pid : getpid()
            let sourceStart = try sourcePid.map { try ProcessSample.read(pid: $0) }
            let goMilliseconds = WallClock.milliseconds()
            fleet.broadcast("go")
            let published = try publisher?.run(timeoutSeconds: turnTimeout)
            _ = try fleet.awaitAll("done", as: WorkerStatus.self, timeoutSeconds: turnTimeout + 10)
            let end = try gateway.sample()
            let sourceEnd = try sourcePid.map { try ProcessSample.read(pid: $0) }
            let clientsEnd = fleet.samples()
            let tally = try fleet.finish(timeoutSeconds: 30)
            let clientCPU = zip(clientsStart, clientsEnd).reduce(0) { $0 + $1.1.cpuSeconds - $1.0.cpuSeconds }
            let seconds = Double((tally.lastEventMilliseconds ?? goMilliseconds) - goMilliseconds) / 1000
            var sourceCores: Double?
            if let sourceStart, let sourceEnd { sourceCores = ProcessSample.coreShare(from: sourceStart, to: sourceEnd) }
            return FanoutMeasurement(server: server, sessions: options.sessions, subscribersPerSession: options.subscribersPerSession,
                                     tokensPerSecond: rate, tokensPerTurn: tokens, processes: processes,
                                     staggerMilliseconds: template.staggerMilliseconds, tally: tally,
                                     seconds: seconds, gatewayStart: start, gatewayEnd: end, clientCPUSeconds: clientCPU,
                                     sourceCores: sourceCores, publisher: published)
        } catch {
            fleet.abandon()
            throw error
        }
    }
}
