import Foundation

/// What a sweep of fan-out rates says as a whole, per server and side by side. Two different
/// limits show up: latency (the saturation point: p99 under the target) and frames (past the
/// server's frames/s ceiling, the gateway merges consecutive deltas for subscribers that fall
/// behind, so tokens keep flowing while frames/s stops growing). Merged frames alone are no
/// saturation signal: a demo-model tick that finds two tokens due (timer jitter) appends both at
/// once, and those merge at any load (seen with one session and one subscriber on an idle machine).
struct FanoutSweep {
    var runs: [FanoutMeasurement]
    var latencyTargetMilliseconds: Double

    var servers: [ServerKind] { ServerKind.allCases.filter { kind in runs.contains { $0.server == kind } } }

    /// Highest rate with p99 within the target and every subscriber complete.
    func latencySaturation(_ server: ServerKind) -> Double? {
        runs.filter { $0.server == server && $0.everySubscriberComplete
            && ($0.latencyMilliseconds(0.99) ?? .infinity) <= latencyTargetMilliseconds }
            .map(\.tokensPerSecond).max()
    }

    func peakFramesPerSecond(_ server: ServerKind) -> Double? {
        runs.filter { $0.server == server }.map(\.framesPerSecond).max()
    }

    /// Most tokens/s delivered by a run within the latency target with every subscriber complete:
    /// the fair throughput figure when one server merges deltas and the other does not.
    func peakTokensPerSecondWithinTarget(_ server: ServerKind) -> Double? {
        runs.filter { $0.server == server && $0.everySubscriberComplete
            && ($0.latencyMilliseconds(0.99) ?? .infinity) <= latencyTargetMilliseconds }
            .map(\.tokensPerSecondDelivered).max()
    }

    /// The gateway's figure over a peer's, when both ran.
    private func gatewayRatio(_ figure: (ServerKind) -> Double?, to peer: ServerKind) -> Double? {
        guard let gateway = figure(.gateway), let other = figure(peer), other > 0 else { return nil }
        return gateway / other
    }

    var gatewayShareOfCeiling: Double? { gatewayRatio(peakFramesPerSecond, to: .lwsCeiling) }
    var gatewayTokensShareOfCeiling: Double? { gatewayRatio(peakTokensPerSecondWithinTarget, to: .lwsCeiling) }
    var gatewayOverNchan: Double? { gatewayRatio(peakFramesPerSecond, to: .nchan) }
    var gatewayTokensOverNchan: Double? { gatewayRatio(peakTokensPerSecondWithinTarget, to: .nchan) }

    var summaryLines: [String] {
        var lines: [String] = []
        for server in servers {
            let saturation = latencySaturation(server).map { "\($0) tokens/s per session" } ?? "none of the rates"
            let peak = peakFramesPerSecond(server).map { String(format: "%.0f", $0) } ?? "-"
            let tokens = peakTokensPerSecondWithinTarget(server).map { String(format: "%.0f", $0) } ?? "-"
            lines.append("\(server.rawValue): saturation (highest rate with p99 <= \(latencyTargetMilliseconds) ms, "
                         + "every subscriber complete) \(saturation); peak delivered frames/s \(peak); "
                         + "peak tokens/s within the target \(tokens)")
        }
        if let frames = gatewayShareOfCeiling {
            let tokens = gatewayTokensShareOfCeiling.map { String(format: "%.0f %%", $0 * 100) } ?? "-"
            lines.append(String(format: "gateway / lws-ceiling: peak frames/s %.0f %%, ", frames * 100)
                         + "peak tokens/s within the latency target \(tokens)")
        }
        if let frames = gatewayOverNchan {
            let tokens = gatewayTokensOverNchan.map { String(format: "%.2fx", $0) } ?? "-"
            lines.append(String(format: "gateway / nchan: peak frames/s %.2fx, ", frames)
                         + "peak tokens/s within the latency target \(tokens)")
        }
        return lines
    }

    var json: [String: Any] {
        var saturation: [String: Any] = [:]
        var peak: [String: Any] = [:]
        var tokens: [String: Any] = [:]
        for server in servers {
            saturation[server.rawValue] = latencySaturation(server) ?? NSNull()
            peak[server.rawValue] = peakFramesPerSecond(server) ?? NSNull()
            tokens[server.rawValue] = peakTokensPerSecondWithinTarget(server) ?? NSNull()
        }
        var entry: [String: Any] = ["saturation_tokens_per_second": saturation, "peak_frames_per_second": peak,
                                    "peak_tokens_per_second_within_target": tokens]
        entry["gateway_peak_frames_share_of_ceiling"] = gatewayShareOfCeiling
        entry["gateway_peak_tokens_share_of_ceiling"] = gatewayTokensShareOfCeiling
        entry["gateway_peak_frames_over_nchan"] = gatewayOverNchan
        entry["gateway_peak_tokens_over_nchan"] = gatewayTokensOverNchan
        return entry
    }
}
