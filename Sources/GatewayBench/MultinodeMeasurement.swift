import Foundation

/// One fan-out run on one layout of gateways (`BenchCluster.Layout`): what the subscribers got
/// (as `FanoutMeasurement` counts it), each node's CPU and memory, redis-server's CPU and the Redis
/// commands the run cost.
struct MultinodeMeasurement {
    var layout: BenchCluster.Layout
    var sessions: Int
    var subscribersPerSession: Int
    var tokensPerSecond: Double
    var tokensPerTurn: Int
    var processes: Int
    var tally: ChatLoadTally
    /// From `go` to the last event received.
    var seconds: Double
    var nodeStart: [ProcessSample]
    var nodeEnd: [ProcessSample]
    var redisStart: ProcessSample?
    var redisEnd: ProcessSample?
    var clientCPUSeconds: Double
    var redisOps: RedisOps?

    var subscribers: Int { sessions * subscribersPerSession }
    var framesPerSecond: Double { seconds > 0 ? Double(tally.frames) / seconds : 0 }
    var tokensPerSecondDelivered: Double { seconds > 0 ? Double(tally.tokens) / seconds : 0 }
    var everySubscriberComplete: Bool { tally.completeSubscribers == subscribers }
    var nodeCores: [Double] { zip(nodeStart, nodeEnd).map { ProcessSample.coreShare(from: $0, to: $1) } }
    var redisCores: Double? {
        guard let redisStart, let redisEnd else { return nil }
        return ProcessSample.coreShare(from: redisStart, to: redisEnd)
    }
    var clientCores: Double {
        guard let first = nodeStart.first, let last = nodeEnd.first, last.takenAt > first.takenAt else { return 0 }
        return clientCPUSeconds / (last.takenAt - first.takenAt)
    }

    func latencyMilliseconds(_ quantile: Double) -> Double? { tally.latency.percentile(quantile).map { Double($0) / 1000 } }

    var json: [String: Any] {
        func number(_ value: Double?) -> Any { value ?? NSNull() }
        return [
            "layout": layout.name, "nodes": layout.nodes, "redis": layout.redis,
            "sessions": sessions, "subscribers_per_session": subscribersPerSession, "subscribers": subscribers,
            "tokens_per_second_per_session": tokensPerSecond, "tokens_per_turn": tokensPerTurn,
            "client_processes": processes, "joined": tally.joined, "failed": tally.failed, "closed_early": tally.closedEarly,
            "seconds": seconds, "frames": tally.frames, "merged_frames": tally.mergedFrames,
            "tokens_delivered": tally.tokens, "turn_ends": tally.turnEnds,
            "complete_subscribers": tally.completeSubscribers, "every_subscriber_complete": everySubscriberComplete,
            "gaps": tally.gaps, "duplicates": tally.duplicates, "errors": tally.errors,
            "frames_per_second": framesPerSecond, "tokens_per_second": tokensPerSecondDelivered,
            "latency_ms": ["p50": number(latencyMilliseconds(0.5)), "p99": number(latencyMilliseconds(0.99)),
                           "p99_9": number(latencyMilliseconds(0.999)),
                           "max": number(tally.latency.count > 0 ? Double(tally.latency.max) / 1000 : nil)],
            "nodes_cpu_cores": nodeCores, "nodes_rss_end_kb": nodeEnd.map(\.residentKilobytes),
            "redis_cpu_cores": number(redisCores), "redis_rss_end_kb": redisEnd.map { $0.residentKilobytes as Any } ?? NSNull(),
            "client_cpu_cores": clientCores,
            "redis_ops": redisOps?.json ?? NSNull(),
            "first_failure": tally.firstFailure ?? NSNull(),
        ]
    }

    var markdownRow: String {
        func ms(_ quantile: Double) -> String { latencyMilliseconds(quantile).map { String(format: "%.1f", $0) } ?? "-" }
        func percent(_ value: Double) -> String { String(format: "%.0f %%", value * 100) }
        let cpu = nodeCores.map(percent).joined(separator: " / ")
        let rss = nodeEnd.map { String($0.residentKilobytes) }.joined(separator: " / ")
        let ops = redisOps.map { String(format: "%.2f / %.1f", $0.perToken(Double($0.run.totalCommandsProcessed)),
                                        $0.perTurn(Double($0.run.totalCommandsProcessed))) } ?? "-"
        return "| \(layout.name) | \(sessions)x\(subscribersPerSession) | \(tokensPerSecond.formatted()) | \(tokensPerTurn) | "
            + String(format: "%.0f | %.0f | ", framesPerSecond, tokensPerSecondDelivered) + "\(tally.mergedFrames) | "
            + "\(ms(0.5)) | \(ms(0.99)) | \(ms(0.999)) | \(cpu) | \(rss) | \(redisCores.map(percent) ?? "-") | "
            + "\(percent(clientCores)) | \(ops) | \(tally.completeSubscribers)/\(subscribers) |"
    }

    static let markdownHeader = """
        | layout | sessions x subs | tok/s/session | tokens | frames/s | tokens/s | merged frames | p50 ms | p99 ms | p99.9 ms | node CPU | node RSS KiB | redis CPU | client CPU | Redis cmds / token / turn | complete |
        |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
        """
}
