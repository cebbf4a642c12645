import Foundation

/// What a multinode sweep says as a whole: per layout the peak delivered frames/s and the most
/// tokens/s delivered within the latency target (every subscriber complete), and N nodes over one
/// node. At a load one node carries, every layout delivers what is offered and the ratio is about
/// 1: only a rate past one node's capacity measures what the extra nodes add, and on a machine
/// with fewer cores than nodes + Redis + clients the extra nodes add no CPU, only processes to
/// share the same cores. So the ratio is shown with what every process used at the top rate.
struct MultinodeComparison {
    var runs: [MultinodeMeasurement]
    var latencyTargetMilliseconds: Double

    static let target = 2.5

    var layouts: [BenchCluster.Layout] {
        var seen: [BenchCluster.Layout] = []
        for run in runs where !seen.contains(run.layout) { seen.append(run.layout) }
        return seen
    }

    var multi: BenchCluster.Layout? { layouts.filter { $0.nodes > 1 }.max { $0.nodes < $1.nodes } }
    var single: BenchCluster.Layout? { layouts.first { $0.nodes == 1 && !$0.redis } }
    var singleRedis: BenchCluster.Layout? { layouts.first { $0.nodes == 1 && $0.redis } }

    private func within(_ run: MultinodeMeasurement) -> Bool {
        run.everySubscriberComplete && (run.latencyMilliseconds(0.99) ?? .infinity) <= latencyTargetMilliseconds
    }

    func peakFramesPerSecond(_ layout: BenchCluster.Layout) -> Double? {
        runs.filter { $0.layout == layout }.map(\.framesPerSecond).max()
    }

    func peakTokensPerSecondWithinTarget(_ layout: BenchCluster.Layout) -> Double? {
        runs.filter { $0.layout == layout && within($0) }.map(\.tokensPerSecondDelivered).max()
    }

    /// Delivered tokens per CPU-second of all the layout's gateway nodes, at its top rate.
    func tokensPerNodeCPUSecond(_ layout: BenchCluster.Layout) -> Double? {
        guard let run = topRun(layout) else { return nil }
        let cpu = zip(run.nodeStart, run.nodeEnd).reduce(0) { $0 + $1.1.cpuSeconds - $1.0.cpuSeconds }
        return cpu > 0 ? Double(run.tally.tokens) / cpu : nil
    }

    func topRun(_ layout: BenchCluster.Layout) -> MultinodeMeasurement? {
        runs.filter { $0.layout == layout }.max { $0.tokensPerSecond < $1.tokensPerSecond }
    }

    private func ratio(_ figure: (BenchCluster.Layout) -> Double?, _ over: BenchCluster.Layout?) -> Double? {
        guard let multi, let over, let top = figure(multi), let bottom = figure(over), bottom > 0 else { return nil }
        return top / bottom
    }

    /// N nodes over one node in memory, the gateway's default: the issue's "3 nodes vs 1 node".
    var tokensRatio: Double? { ratio(peakTokensPerSecondWithinTarget, single) }
    var framesRatio: Double? { ratio(peakFramesPerSecond, single) }
    var tokensRatioOverRedis: Double? { ratio(peakTokensPerSecondWithinTarget, singleRedis) }
    var met: Bool? { tokensRatio.map { $0 >= Self.target } }

    /// Cores every process of the multi-node layout kept busy at its top rate, against the cores there are.
    var shareLine: String? {
        guard let multi, let run = topRun(multi) else { return nil }
        let nodes = run.nodeCores.reduce(0, +)
        let total = nodes + (run.redisCores ?? 0) + run.clientCores
        return "\(multi.name) at \(run.tokensPerSecond.formatted()) tokens/s: "
            + String(format: "the nodes used %.2f cores, redis-server %.2f, the client processes %.2f: %.2f of the machine's %d cores",
                     nodes, run.redisCores ?? 0, run.clientCores, total, ProcessInfo.processInfo.activeProcessorCount)
    }

    var summaryLines: [String] {
        var lines: [String] = []
        for layout in layouts {
            let peak = peakFramesPerSecond(layout).map { String(format: "%.0f", $0) } ?? "-"
            let tokens = peakTokensPerSecondWithinTarget(layout).map { String(format: "%.0f", $0) } ?? "none within the target"
            let perCPU = tokensPerNodeCPUSecond(layout).map { String(format: "%.0f", $0) } ?? "-"
            lines.append("\(layout.name): peak delivered frames/s \(peak); most tokens/s with p99 <= "
                         + "\(latencyTargetMilliseconds.formatted()) ms, every subscriber complete: \(tokens); "
                         + "delivered tokens per gateway CPU-second at the top rate: \(perCPU)")
        }
        if let multi, let ratio = tokensRatio {
            let frames = framesRatio.map { String(format: "%.2fx", $0) } ?? "-"
            let overRedis = tokensRatioOverRedis.map { String(format: "%.2fx", $0) } ?? "-"
            lines.append(String(format: "\(multi.nodes) nodes vs 1 node (memory): tokens/s within the target %.2fx ", ratio)
                         + "(target ≥ \(Self.target.formatted())x: \(ratio >= Self.target ? "met" : "not met")), "
                         + "peak frames/s \(frames); vs 1 node on Redis \(overRedis). The ratio is about 1 while one node "
                         + "carries the offered load; it measures capacity only at a rate one node cannot carry.")
        }
        if let share = shareLine { lines.append(share) }
        return lines
    }

    var json: [String: Any] {
        var peak: [String: Any] = [:]
        var tokens: [String: Any] = [:]
        var perCPU: [String: Any] = [:]
        for layout in layouts {
            peak[layout.name] = peakFramesPerSecond(layout) ?? NSNull()
            tokens[layout.name] = peakTokensPerSecondWithinTarget(layout) ?? NSNull()
            perCPU[layout.name] = tokensPerNodeCPUSecond(layout) ?? NSNull()
        }
        return ["peak_frames_per_second": peak, "peak_tokens_per_second_within_target": tokens,
                "tokens_per_gateway_cpu_second": perCPU,
                "nodes_over_one_node_tokens": tokensRatio ?? NSNull(), "nodes_over_one_node_frames": framesRatio ?? NSNull(),
                "nodes_over_one_redis_node_tokens": tokensRatioOverRedis ?? NSNull(),
                "target_ratio": Self.target, "target_met": met ?? NSNull(), "cpu_share": shareLine ?? NSNull()]
    }
}
