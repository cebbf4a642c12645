import Foundation

/// `chat-bench idle`: opens N connections (hello + join), holds them, and reports what they cost
/// the gateway in memory (VmRSS before vs after, per connection) and how fast they came up.
/// Several N (and several `--servers`) in one invocation run one after the other, each against a
/// freshly started server.
public enum IdleCommand {
    public struct Options: Sendable {
        public var connections = [1000]
        /// 1: every connection joins its own session; K: sessions of K subscribers.
        public var subscribersPerSession = 1
        public var holdSeconds = 2.0
        public var load = LoadOptions()
        public init() {}
    }

    /// Runs every size, prints the table, writes the JSON; returns its path.
    @discardableResult
    public static func run(_ options: Options, print report: (String) -> Void) throws -> String {
        let measurements = try sweep(options, progress: report)
        report(table(measurements, options).joined(separator: "\n"))
        let path = try ResultsFile.write(json(measurements, options), scenario: "idle", label: options.load.label,
                                        directory: options.load.outputDirectory)
        report("\nwrote \(path)")
        return path
    }

    /// Every size on every server, in order.
    static func sweep(_ options: Options, progress: (String) -> Void) throws -> [IdleMeasurement] {
        var measurements: [IdleMeasurement] = []
        for connections in options.connections {
            for server in options.load.servers {
                progress("idle: \(connections) connections, \(server.rawValue)...")
                measurements.append(try measure(connections: connections, server: server, run: measurements.count,
                                                options: options))
            }
        }
        return measurements
    }

    static func table(_ measurements: [IdleMeasurement], _ options: Options) -> [String] {
        ["idle: connections opened (hello + join), held \(options.holdSeconds) s; server VmRSS from /proc",
         "", IdleMeasurement.markdownHeader] + measurements.map(\.markdownRow)
    }

    static func json(_ measurements: [IdleMeasurement], _ options: Options) -> [String: Any] {
        [
            "scenario": "idle",
            "date": ResultsFile.utcDate(),
            "machine": ResultsFile.machine,
            "gateway": options.load.url ?? "started by chat-bench",
            "label": options.load.label ?? NSNull(),
            "connects_per_second_limit": options.load.connectsPerSecond,
            "runs": measurements.map(\.json),
        ]
    }

    static func measure(connections: Int, server: ServerKind, run: Int, options: Options) throws -> IdleMeasurement {
        let processes = options.load.processes(for: connections)
        try options.load.checkFileLimits(connections: connections, processes: processes,
                                         launchingGateway: options.load.url == nil)
        let gateway = try options.load.server(server) { _ in }
        defer { gateway.stop() }
        usleep(300_000)  // let the gateway finish starting up before the baseline
        let before = try gateway.sample()

        let plan = ChatLoadPlan(sessionPrefix: "idle-\(getpid())-\(run)", totalConnections: connections,
                                subscribersPerSession: options.subscribersPerSession, sendsTurns: false,
                                flavor: server.flavor)
        let readyTimeout = 30 + Double(connections) / 500
        let template = WorkerPlan(host: gateway.host, port: gateway.port, path: gateway.path,
                                  subprotocol: server.flavor == .chatV1 ? "chat.v1" : nil, load: plan,
                                  connectsPerSecond: options.load.connectsPerSecond,
                                  maxPendingConnects: options.load.maxPendingConnects,
                                  readyTimeoutSeconds: readyTimeout)
        let fleet = try WorkerFleet(plan: plan, processes: processes, template: template, run: run)
        do {
            _ = try fleet.awaitAll("ready", as: WorkerStatus.self, timeoutSeconds: readyTimeout + 10)
            usleep(500_000)  // the last joins' allocations settle
            let joined = try gateway.sample()
            usleep(UInt32(max(0, options.holdSeconds) * 1_000_000))
            let held = try gateway.sample()
            let tally = try fleet.finish(timeoutSeconds: 30)
            return IdleMeasurement(server: server, connections: connections, subscribersPerSession: options.subscribersPerSession,
                                   processes: processes, sourceAddresses: fleet.sourceAddresses, tally: tally,
                                   holdSeconds: options.holdSeconds, gatewayBefore: before, gatewayJoined: joined,
                                   gatewayHeld: held)
        } catch {
            fleet.abandon()
            throw error
        }
    }
}
