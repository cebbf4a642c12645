import Foundation

/// `chat-bench stop`: time from a client's `stop` to the upstream seeing its connection closed.
/// Each turn streams from chat-bench's HTTP upstream (long enough never to end by itself); once its
/// first delta has arrived and `--after-ms` more have passed, the probe sends `stop` and the
/// upstream process records, on the same machine's wall clock, when it saw the gateway close that
/// request's connection (it names requests by their message text). Also reported: `stop` to the
/// `turn.end` (finish cancelled) at the client. One turn at a time.
public enum StopCommand {
    public struct Options: Sendable {
        public var stops = 50
        /// How long each turn streams after its first delta before the stop.
        public var afterMilliseconds = 50.0
        public var tokensPerSecond = 20.0
        public var gatewayBinary: String?
        public var outputDirectory = "bench/results"
        public var label: String?
        public init() {}
    }

    @discardableResult
    public static func run(_ options: Options, print report: (String) -> Void) throws -> String {
        report("stop: \(options.stops) turns stopped \(Int(options.afterMilliseconds)) ms after their first delta...")
        let result = try measure(options)
        report(result.markdown.joined(separator: "\n"))
        let path = try ResultsFile.write(result.json, scenario: "stop", label: options.label, directory: options.outputDirectory)
        report("\nwrote \(path)")
        return path
    }

    static func measure(_ options: Options) throws -> StopMeasurement {
        let rig = try ProbeRig(gatewayBinary: options.gatewayBinary, tokensPerSecond: options.tokensPerSecond,
                               tokensPerTurn: 1_000_000, session: "stop-\(getpid())")
        defer { rig.stop() }
        var measurement = StopMeasurement(stops: options.stops, afterMilliseconds: options.afterMilliseconds,
                                          tokensPerSecond: options.tokensPerSecond)
        for index in 0..<options.stops {
            let tag = "stop \(index)"
            rig.send(rig.probe.message(id: "stop-\(index)", text: tag))
            _ = try rig.probe.await("the first turn.delta of turn \(index)", within: 30) {
                if case .firstDelta = $0 { return true } else { return false }
            }
            usleep(UInt32(options.afterMilliseconds * 1000))
            let stopped = rig.send(rig.probe.stop)
            let close = try rig.upstream.close(tag: tag, timeoutSeconds: 10)
            let end = try rig.probe.await("the turn.end of turn \(index)", within: 10) {
                if case .turnEnd = $0 { return true } else { return false }
            }
            guard case .turnEnd(let finish, let endedAt) = end, finish == "cancelled" else {
                throw BenchError("turn \(index) ended with \(end), not cancelled")
            }
            guard !close.completed else { throw BenchError("turn \(index)'s upstream stream ran to its end: nothing was stopped") }
            measurement.upstreamClosed.record(close.closedAtMicroseconds - stopped)
            measurement.turnEnded.record(endedAt - stopped)
        }
        return measurement
    }
}
