/// What a sweep of fan-out rates says as a whole. Two different limits show up: latency (the
/// saturation point: p99 under the target) and frames (past the gateway's frames/s ceiling,
/// subscribers that fall behind get consecutive deltas merged, so tokens keep flowing while
/// frames/s stops growing). Merged frames alone are no saturation signal: a demo-model tick that
/// finds two tokens due (timer jitter) appends both at once, and those merge at any load (seen
/// with one session and one subscriber on an idle machine).
struct FanoutSweep {
    var runs: [FanoutMeasurement]
    var latencyTargetMilliseconds: Double
    /// Highest rate with p99 within the target and every subscriber complete.
    var latencySaturation: Double? {
        runs.filter { $0.everySubscriberComplete && ($0.latencyMilliseconds(0.99) ?? .infinity) <= latencyTargetMilliseconds }
            .map(\.tokensPerSecond).max()
    }

    var peakFramesPerSecond: Double? { runs.map(\.framesPerSecond).max() }

    var summaryLines: [String] {
        func rate(_ value: Double?) -> String { value.map { "\($0) tokens/s per session" } ?? "none of the rates" }
        return [
            "saturation (highest rate with p99 <= \(latencyTargetMilliseconds) ms, every subscriber complete): \(rate(latencySaturation))",
            "peak delivered frames/s: " + (peakFramesPerSecond.map { String(format: "%.0f", $0) } ?? "-"),
        ]
    }

    var json: [String: Any] {
        var entry: [String: Any] = [:]
        entry["saturation_tokens_per_second"] = latencySaturation
        entry["peak_frames_per_second"] = peakFramesPerSecond
        return entry
    }
}
