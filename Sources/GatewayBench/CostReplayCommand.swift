import Foundation

/// `chat-bench cost-replay`: loads the workload and config, replays every path, prints the table
/// and writes `cost-replay-<date>.json` (UTC date) into the output directory.
public enum CostReplayCommand {
    public struct Options: Sendable {
        public var workloadPath = "bench/workloads/support-conversations.json"
        public var configPath = "bench/cost-replay.json"
        public var outputDirectory = "bench/results"
        public init() {}
    }

    /// Returns the path of the JSON written.
    @discardableResult
    public static func run(_ options: Options, print report: (String) -> Void) throws -> String {
        let summary = try replay(options)
        let date = summary.date
        report(summary.markdown)

        let output = URL(fileURLWithPath: options.outputDirectory).appendingPathComponent("cost-replay-\(date).json")
        do {
            try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
            let data = try JSONSerialization.data(withJSONObject: summary.json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try (data + Data("\n".utf8)).write(to: output)
        } catch {
            throw BenchError("\(output.path): cannot write the results: \(error.localizedDescription)")
        }
        report("\nwrote \(output.path)")
        return output.path
    }

    /// Every path replayed and priced.
    static func replay(_ options: Options) throws -> CostReplayReport {
        let workload = try Workload.load(path: options.workloadPath)
        let config = try CostReplayConfig.load(path: options.configPath)
        let replay = CostReplay(config: config, workload: workload)
        var results: [(path: CostReplay.Path, totals: ReplayTotals)] = []
        for path in CostReplay.Path.all { results.append((path, try replay.run(path))) }
        return CostReplayReport(date: utcDate(Date()), workloadPath: options.workloadPath, configPath: options.configPath,
                                config: config, workload: workload, results: results)
    }

    static func utcDate(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
