/// What a sweep of fan-out rates says as a whole. Two different limits show up: latency (the
/// issue's saturation point: p99 under the target) and frames (past the gateway's frames/s
/// ceiling, slow subscribers get consecutive deltas merged, so tokens keep flowing and latency
/// stays bounded while frames/s stops growing).
struct FanoutSweep {
    var runs: [FanoutMeasurement]
    var latencyTargetMilliseconds: Double
    /// Merged frames at or below this share of all frames count as "every token its own frame".
    static let unmergedShare = 0.01

    /// Highest rate with p99 within the target and every subscriber complete.
    var latencySaturation: Double? {
        runs.filter { $0.everySubscriberComplete && ($0.latencyMilliseconds(0.99) ?? .infinity) <= latencyTargetMilliseconds }
            .map(\.tokensPerSecond).max()
    }

    /// Highest rate at which (nearly) every token still went out as a frame of its own.
    var unmergedSaturation: Double? {
        runs.filter { $0.everySubscriberComplete && Double($0.tally.mergedFrames) <= Self.unmergedShare * Double(max(1, $0.tally.frames)) }
            .map(\.tokensPerSecond).max()
    }

    var peakFramesPerSecond: Double? { runs.map(\.framesPerSecond).max() }

    var summaryLines: [String] {
        func rate(_ value: Double?) -> String { value.map { "\($0) tokens/s per session" } ?? "none of the rates" }
        return [
            "saturation (highest rate with p99 <= \(latencyTargetMilliseconds) ms, every subscriber complete): \(rate(latencySaturation))",
            "every token its own frame (merged <= \(Int(Self.unmergedShare * 100)) % of frames) up to: \(rate(unmergedSaturation))",
            "peak delivered frames/s: " + (peakFramesPerSecond.map { String(format: "%.0f", $0) } ?? "-"),
        ]
    }

    var json: [String: Any] {
        var entry: [String: Any] = [:]
        entry["saturation_tokens_per_second"] = latencySaturation
        entry["unmerged_up_to_tokens_per_second"] = unmergedSaturation
        entry["peak_frames_per_second"] = peakFramesPerSecond
        return entry
    }
}
