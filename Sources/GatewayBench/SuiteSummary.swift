import Foundation

/// The side-by-side table of a suite run: one row per figure, a column per server (the gateway on
/// its demo model, the gateway streaming from an HTTP upstream, the raw lws ceiling, nginx +
/// nchan), the gateway's ratio to the ceiling and to nchan, and the issue's target where it sets
/// one, with whether this run met it. A target is judged only on a run of the size it names
/// (RSS per connection at 19k, added latency at 1k streams); otherwise the cell says so.
struct SuiteSummary {
    struct Row {
        var figure: String
        /// Per server: the number the ratios use (nil: not measured) and how it is shown.
        var numbers: [ServerKind: Double] = [:]
        var shown: [ServerKind: String] = [:]
        var target: String?
        /// nil: no target, or not judged on this run.
        var met: Bool?
        var note: String?

        func ratio(to peer: ServerKind) -> Double? {
            guard let gateway = numbers[.gateway], let other = numbers[peer], other > 0 else { return nil }
            return gateway / other
        }
    }

    static let columns: [(ServerKind, String)] = [(.gateway, "gateway (demo model)"), (.gatewayUpstream, "gateway (HTTP upstream)"),
                                                  (.lwsCeiling, "lws-ceiling"), (.nchan, "nginx + nchan")]

    let rows: [Row]
    let profile: String
    /// Under the table: what a figure needs said with it (the multinode ratio on this machine).
    let notes: [String]

    init(results: SuiteResults) {
        profile = results.profile.name
        var rows: [Row] = []
        if let costs = results.costReplay {
            rows.append(Row(figure: "cost-replay: optimized (routing, trimming, cache) vs naive, saving",
                            numbers: [:], shown: [.gateway: String(format: "%.1f %%", costs.optimized.savingPercent(against: costs.naive))]))
        }
        rows += Self.idleRows(results.idle)
        for shape in results.fanout { rows += Self.fanoutRows(shape) }
        if let multinode = results.multinode { rows += Self.multinodeRows(multinode.runs, multinode.options) }
        if let ttft = results.ttft { rows += Self.ttftRows(ttft) }
        if let stop = results.stop { rows += Self.stopRows(stop) }
        self.rows = rows
        notes = results.multinode.map { Self.multinodeNotes($0.runs, $0.options) } ?? []
    }

    // MARK: - Rows

    private static func idleRows(_ runs: [IdleMeasurement]) -> [Row] {
        var rows: [Row] = []
        for connections in Set(runs.map(\.connections)).sorted() {
            let here = runs.filter { $0.connections == connections }
            var memory = Row(figure: "idle, RSS per connection at \(connections.formatted()) connections (bytes)",
                             target: "≤ 4,096 B at 19,000 (Centrifugo tuned: 10.9 KB)")
            var rate = Row(figure: "idle, \(connections.formatted()) connections up: connects/s")
            for run in here {
                if let bytes = run.residentBytesPerConnection { memory.set(run.server, bytes, String(format: "%.0f", bytes)) }
                if let perSecond = run.connectsPerSecond {
                    rate.set(run.server, perSecond, String(format: "%.0f (%.1f s)", perSecond, run.connectSeconds ?? 0))
                }
            }
            if connections >= 19_000, let bytes = memory.numbers[.gateway] { memory.met = bytes <= 4096 } else {
                memory.note = "target judged at 19,000 connections (make bench-full)"
            }
            rows += [memory, rate]
        }
        return rows
    }

    private static func fanoutRows(_ shape: SuiteResults.FanoutRuns) -> [Row] {
        let sweep = shape.sweep
        let name = "fanout \(shape.shape.sessions.formatted()) x \(shape.shape.subscribersPerSession.formatted())"
        var peak = Row(figure: "\(name): peak delivered frames/s", target: "≥ 60 % of lws-ceiling and ≥ 1.5x nchan")
        var tokens = Row(figure: "\(name): most tokens/s with p99 ≤ \(Int(shape.options.latencyTargetMilliseconds)) ms, every subscriber complete")
        for server in sweep.servers {
            if let frames = sweep.peakFramesPerSecond(server) { peak.set(server, frames, String(format: "%.0f", frames)) }
            if let best = sweep.peakTokensPerSecondWithinTarget(server) { tokens.set(server, best, String(format: "%.0f", best)) }
        }
        if let share = peak.ratio(to: .lwsCeiling), let over = peak.ratio(to: .nchan) { peak.met = share >= 0.6 && over >= 1.5 }
        var rows = [peak, tokens]
        for rate in shape.shape.tokensPerSecond {
            let runs = shape.runs.filter { $0.tokensPerSecond == rate }
            let at = "\(name) at \(rate.formatted()) tokens/s"
            var latency = Row(figure: "\(at): event latency (now - ts) p50 / p99 / p99.9 ms")
            var token = Row(figure: "\(at): token latency (source's write -> subscriber) p50 / p99 ms")
            var cpu = Row(figure: "\(at): server CPU (source CPU)")
            for run in runs {
                if let p99 = run.latencyMilliseconds(0.99) {
                    latency.set(run.server, p99, String(format: "%.1f / %.1f / %.1f", run.latencyMilliseconds(0.5) ?? 0, p99,
                                                        run.latencyMilliseconds(0.999) ?? 0) + (run.everySubscriberComplete ? "" : " (incomplete)"))
                }
                if let p99 = run.tokenLatencyMilliseconds(0.99) {
                    token.set(run.server, p99, String(format: "%.2f / %.2f", run.tokenLatencyMilliseconds(0.5) ?? 0, p99))
                }
                cpu.set(run.server, run.gatewayCores, String(format: "%.0f %%", run.gatewayCores * 100)
                        + (run.sourceCores.map { String(format: " (%.0f %%)", $0 * 100) } ?? ""))
            }
            if shape.shape.subscribersPerSession == 1 {
                // Added latency per token: the whole way from the upstream's write to the subscriber,
                // stamped in µs (the demo model's ts is rounded to the ms, too coarse for 1 ms).
                token.target = "gateway (HTTP upstream) ≤ 1 ms p99 at 1,000 streams"
                if shape.shape.sessions >= 1000, let p99 = token.numbers[.gatewayUpstream] { token.met = p99 <= 1 } else {
                    token.note = "target judged at 1,000 streams"
                }
            }
            rows += [latency, token, cpu]
        }
        return rows
    }

    /// In the demo-model gateway's column: the multinode runs are that gateway, on 1 node or N.
    private static func multinodeRows(_ runs: [MultinodeMeasurement], _ options: MultinodeCommand.Options) -> [Row] {
        let comparison = MultinodeComparison(runs: runs, latencyTargetMilliseconds: options.latencyTargetMilliseconds)
        guard let multi = comparison.multi else { return [] }
        let name = "multinode \(options.sessions.formatted()) x \(options.subscribersPerSession.formatted())"
        func tokens(_ layout: BenchCluster.Layout?) -> String {
            layout.flatMap(comparison.peakTokensPerSecondWithinTarget).map { String(format: "%.0f", $0) } ?? "-"
        }
        var ratio = Row(figure: "\(name): most tokens/s with p99 ≤ \(Int(options.latencyTargetMilliseconds)) ms, "
                        + "1 node memory / 1 node Redis / \(multi.nodes) nodes Redis (\(multi.nodes) nodes / 1 node)",
                        target: "\(multi.nodes) nodes ≥ \(MultinodeComparison.target.formatted())x one node")
        if let value = comparison.tokensRatio {
            ratio.set(.gateway, value, "\(tokens(comparison.single)) / \(tokens(comparison.singleRedis)) / \(tokens(multi)) "
                      + String(format: "(%.2fx)", value))
            ratio.met = comparison.met
        }
        ratio.note = comparison.shareLine
        var rows = [ratio]
        if let top = comparison.topRun(multi) {
            var latency = Row(figure: "\(name) on \(multi.nodes) nodes at \(top.tokensPerSecond.formatted()) tokens/s: "
                              + "event latency p50 / p99 / p99.9 ms, node CPU, redis CPU")
            if let p99 = top.latencyMilliseconds(0.99) {
                latency.set(.gateway, p99, String(format: "%.1f / %.1f / %.1f", top.latencyMilliseconds(0.5) ?? 0, p99,
                                                  top.latencyMilliseconds(0.999) ?? 0)
                            + "; " + top.nodeCores.map { String(format: "%.0f %%", $0 * 100) }.joined(separator: " + ")
                            + String(format: "; %.0f %%", (top.redisCores ?? 0) * 100))
            }
            rows.append(latency)
            if let ops = top.redisOps {
                var commands = Row(figure: "\(name) on \(multi.nodes) nodes: Redis commands per token / per turn "
                                   + "(INFO, scripts' commands included; evalsha per token)")
                let total = Double(ops.run.totalCommandsProcessed)
                commands.set(.gateway, ops.perToken(total), String(format: "%.2f / %.1f (evalsha %.2f)", ops.perToken(total),
                                                                   ops.perTurn(total), ops.evalshaPerToken))
                rows.append(commands)
            }
        }
        return rows
    }

    private static func multinodeNotes(_ runs: [MultinodeMeasurement], _ options: MultinodeCommand.Options) -> [String] {
        let comparison = MultinodeComparison(runs: runs, latencyTargetMilliseconds: options.latencyTargetMilliseconds)
        guard let multi = comparison.multi, let share = comparison.shareLine else { return [] }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        var note = "multinode: \(share)."
        if cores < multi.nodes + 2 {
            note += " With \(cores) cores for \(multi.nodes) nodes, redis-server and the client processes, more nodes "
                + "add processes to share the same cores, not CPU: the \(MultinodeComparison.target.formatted())x target "
                + "needs a core per node (and more for Redis and the load), so it cannot be met here."
        }
        note += " The ratio also stays about 1 wherever one node carries the offered rate."
        return [note]
    }

    private static func ttftRows(_ ttft: TTFTMeasurement) -> [Row] {
        func pair(_ p50: Double?, _ p99: Double?) -> String { String(format: "%.2f / %.2f", p50 ?? .nan, p99 ?? .nan) }
        var through = Row(figure: "ttft through the gateway, p50 / p99 ms (\(ttft.gateway.count) turns)")
        through.shown[.gatewayUpstream] = pair(ttft.gateway.milliseconds(0.5), ttft.gateway.milliseconds(0.99))
        var direct = Row(figure: "ttft straight to the same upstream, p50 / p99 ms")
        direct.shown[.gatewayUpstream] = pair(ttft.direct.milliseconds(0.5), ttft.direct.milliseconds(0.99))
        var added = Row(figure: "ttft added by the gateway, p50 / p99 ms", target: "≤ 1 ms p50, ≤ 3 ms p99")
        added.shown[.gatewayUpstream] = pair(ttft.addedMilliseconds(0.5), ttft.addedMilliseconds(0.99))
        if let p50 = ttft.addedMilliseconds(0.5), let p99 = ttft.addedMilliseconds(0.99) { added.met = p50 <= 1 && p99 <= 3 }
        return [through, direct, added]
    }

    private static func stopRows(_ stop: StopMeasurement) -> [Row] {
        func pair(_ samples: Samples) -> String {
            String(format: "%.2f / %.2f", samples.milliseconds(0.5) ?? .nan, samples.milliseconds(0.99) ?? .nan)
        }
        var closed = Row(figure: "stop -> upstream sees its connection closed, p50 / p99 ms (\(stop.upstreamClosed.count) stops)",
                         target: "≤ 50 ms p99")
        closed.shown[.gatewayUpstream] = pair(stop.upstreamClosed)
        if let p99 = stop.upstreamClosed.milliseconds(0.99) { closed.met = p99 <= 50 }
        var ended = Row(figure: "stop -> turn.end (cancelled) at the client, p50 / p99 ms")
        ended.shown[.gatewayUpstream] = pair(stop.turnEnded)
        return [closed, ended]
    }

    // MARK: - Output

    func markdown(elapsedSeconds: Double) -> [String] {
        let machine = ResultsFile.machine
        var lines = ["# chat-bench suite, \(profile) profile, \(ResultsFile.utcDate())", "",
                     "`chat-bench suite --profile \(profile)`, \(String(format: "%.0f", elapsedSeconds)) s; "
                     + "\(machine["cores"] ?? "?") cores, \(machine["kernel"] ?? "?"), libwebsockets \(machine["libwebsockets"] ?? "?"); "
                     + "the load generator, the upstream and nchan's publisher share the machine with the server measured.", "",
                     "| figure | " + Self.columns.map(\.1).joined(separator: " | ") + " | gateway / ceiling | gateway / nchan | target | met |",
                     "|---|" + String(repeating: "---:|", count: Self.columns.count + 2) + "---|---|"]
        for row in rows {
            let cells = Self.columns.map { row.shown[$0.0] ?? "" }
            let ceiling = row.ratio(to: .lwsCeiling).map { String(format: "%.0f %%", $0 * 100) } ?? ""
            let nchan = row.ratio(to: .nchan).map { String(format: "%.2fx", $0) } ?? ""
            let met = row.met.map { $0 ? "yes" : "no" } ?? (row.target != nil ? (row.note ?? "-") : "")
            lines.append("| \(row.figure) | " + cells.joined(separator: " | ") + " | \(ceiling) | \(nchan) | \(row.target ?? "") | \(met) |")
        }
        return lines + (notes.isEmpty ? [] : [""] + notes)
    }

    var json: [[String: Any]] {
        rows.map { row in
            var entry: [String: Any] = ["figure": row.figure,
                                        "values": Dictionary(uniqueKeysWithValues: row.numbers.map { ($0.key.rawValue, $0.value) }),
                                        "shown": Dictionary(uniqueKeysWithValues: row.shown.map { ($0.key.rawValue, $0.value) })]
            // Explicit nulls: every row has every key.
            entry["gateway_over_ceiling"] = row.ratio(to: .lwsCeiling) ?? NSNull()
            entry["gateway_over_nchan"] = row.ratio(to: .nchan) ?? NSNull()
            entry["target"] = row.target ?? NSNull()
            entry["met"] = row.met ?? NSNull()
            entry["note"] = row.note ?? NSNull()
            return entry
        }
    }
}

private extension SuiteSummary.Row {
    mutating func set(_ server: ServerKind, _ number: Double, _ text: String) {
        numbers[server] = number
        shown[server] = text
    }
}
