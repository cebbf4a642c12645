import Foundation

/// One fan-out run: S sessions x K subscribers, one turn per session at a given token rate.
struct FanoutMeasurement {
    var server: ServerKind
    var sessions: Int
    var subscribersPerSession: Int
    var tokensPerSecond: Double
    var tokensPerTurn: Int
    var processes: Int
    var staggerMilliseconds: Double
    var tally: ChatLoadTally
    /// From `go` (messages sent) to the last event received, in seconds.
    var seconds: Double
    var gatewayStart: ProcessSample
    var gatewayEnd: ProcessSample
    /// Summed over the client processes (the load generator's own cost).
    var clientCPUSeconds: Double
    /// Cores the token source kept busy over the run, when it is a process of chat-bench's (the
    /// HTTP upstream, nchan's publisher): it shares the 2 cores too.
    var sourceCores: Double? = nil
    /// What nchan's publisher did (nchan runs only).
    var publisher: NchanPublisher.Report? = nil

    var subscribers: Int { sessions * subscribersPerSession }
    /// What the model produces for all subscribers together: tokens/s if nothing were merged or lost.
    var offeredTokensPerSecond: Double { Double(subscribers) * tokensPerSecond }
    var framesPerSecond: Double { seconds > 0 ? Double(tally.frames) / seconds : 0 }
    var tokensPerSecondDelivered: Double { seconds > 0 ? Double(tally.tokens) / seconds : 0 }
    var gatewayCores: Double { ProcessSample.coreShare(from: gatewayStart, to: gatewayEnd) }
    var clientCores: Double {
        let wall = gatewayEnd.takenAt - gatewayStart.takenAt
        return wall > 0 ? clientCPUSeconds / wall : 0
    }
    var everySubscriberComplete: Bool { tally.completeSubscribers == subscribers }

    func latencyMilliseconds(_ quantile: Double) -> Double? { tally.latency.percentile(quantile).map { Double($0) / 1000 } }
    func tokenLatencyMilliseconds(_ quantile: Double) -> Double? {
        tally.tokenLatency.percentile(quantile).map { Double($0) / 1000 }
    }

    var json: [String: Any] {
        var entry: [String: Any] = [
            "server": server.rawValue,
            "sessions": sessions,
            "subscribers_per_session": subscribersPerSession,
            "subscribers": subscribers,
            "tokens_per_second_per_session": tokensPerSecond,
            "tokens_per_turn": tokensPerTurn,
            "client_processes": processes,
            "stagger_ms": staggerMilliseconds,
            "joined": tally.joined,
            "failed": tally.failed,
            "closed_early": tally.closedEarly,
            "seconds": seconds,
            "frames": tally.frames,
            "merged_frames": tally.mergedFrames,
            "tokens_delivered": tally.tokens,
            "tokens_reported": tally.reportedTokens,
            "turn_ends": tally.turnEnds,
            "complete_subscribers": tally.completeSubscribers,
            "every_subscriber_complete": everySubscriberComplete,
            "gaps": tally.gaps,
            "duplicates": tally.duplicates,
            "errors": tally.errors,
            "offered_tokens_per_second": offeredTokensPerSecond,
            "frames_per_second": framesPerSecond,
            "tokens_per_second": tokensPerSecondDelivered,
            "latency_events": tally.latency.count,
            "gateway_cpu_cores": gatewayCores,
            "gateway_cpu_seconds": gatewayEnd.cpuSeconds - gatewayStart.cpuSeconds,
            "gateway_rss_start_kb": gatewayStart.residentKilobytes,
            "gateway_rss_end_kb": gatewayEnd.residentKilobytes,
            "client_cpu_cores": clientCores,
        ]
        // JSON null where nothing was measured.
        func number(_ value: Double?) -> Any { value ?? NSNull() }
        entry["latency_ms"] = [
            "p50": number(latencyMilliseconds(0.5)), "p99": number(latencyMilliseconds(0.99)),
            "p99_9": number(latencyMilliseconds(0.999)),
            "max": number(tally.latency.count > 0 ? Double(tally.latency.max) / 1000 : nil),
            "mean": number(tally.latency.mean.map { $0 / 1000 }),
        ]
        entry["token_latency_ms"] = tally.tokenLatency.count == 0 ? NSNull() : [
            "p50": number(tokenLatencyMilliseconds(0.5)), "p99": number(tokenLatencyMilliseconds(0.99)),
            "p99_9": number(tokenLatencyMilliseconds(0.999)), "max": Double(tally.tokenLatency.max) / 1000,
            "mean": number(tally.tokenLatency.mean.map { $0 / 1000 }), "tokens": tally.tokenLatency.count,
        ] as [String: Any]
        entry["source_cpu_cores"] = sourceCores
        if let publisher {
            entry["publisher"] = [
                "posts": publisher.posts, "failures": publisher.failures,
                "lag_ms": ["p50": number(publisher.lag.percentile(0.5).map { Double($0) / 1000 }),
                           "p99": number(publisher.lag.percentile(0.99).map { Double($0) / 1000 }),
                           "max": Double(publisher.lag.max) / 1000],
            ] as [String: Any]
        }
        entry["first_failure"] = tally.firstFailure
        return entry
    }

    var markdownRow: String {
        func ms(_ quantile: Double) -> String { latencyMilliseconds(quantile).map { String(format: "%.1f", $0) } ?? "-" }
        let token = tokenLatencyMilliseconds(0.5).map { p50 in
            String(format: "%.2f / %.2f", p50, tokenLatencyMilliseconds(0.99) ?? 0)
        } ?? "-"
        let source = sourceCores.map { String(format: "%.0f %%", $0 * 100) } ?? "-"
        return "| \(server.rawValue) | \(sessions)x\(subscribersPerSession) | \(format(tokensPerSecond)) | \(tokensPerTurn) | "
            + "\(String(format: "%.0f", offeredTokensPerSecond)) | \(String(format: "%.0f", framesPerSecond)) | "
            + "\(String(format: "%.0f", tokensPerSecondDelivered)) | \(tally.mergedFrames) | "
            + "\(ms(0.5)) | \(ms(0.99)) | \(ms(0.999)) | \(token) | \(String(format: "%.0f %%", gatewayCores * 100)) | "
            + "\(gatewayEnd.residentKilobytes) | \(String(format: "%.0f %%", clientCores * 100)) | \(source) | "
            + "\(tally.completeSubscribers)/\(subscribers) |"
    }

    /// Under the table, for runs whose source is chat-bench's own: whether it kept up.
    var sourceNote: String? {
        guard let publisher else { return nil }
        let lag = publisher.lag.percentile(0.99).map { String(format: "%.1f", Double($0) / 1000) } ?? "-"
        let failures = publisher.failures.isEmpty ? "none failed" : "failed: \(publisher.failures)"
        return "\(server.rawValue) \(sessions)x\(subscribersPerSession) at \(format(tokensPerSecond)) tokens/s: publisher "
            + "posted \(publisher.posts) (\(failures)), lag behind schedule p99 \(lag) ms, "
            + "CPU \(String(format: "%.0f %%", (sourceCores ?? 0) * 100))"
    }

    static let markdownHeader = """
        | server | sessions x subs | tok/s/session | tokens | offered tok/s | frames/s | tokens/s | merged frames | p50 ms | p99 ms | p99.9 ms | token p50 / p99 ms | server CPU | server RSS KiB | client CPU | source CPU | complete |
        |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
        """

    private func format(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }
}
