import Foundation

/// Everything one `chat-bench suite` run measured, as typed results, for the summary and the
/// combined results file.
struct SuiteResults {
    struct FanoutRuns {
        var shape: BenchProfile.FanoutShape
        var options: FanoutCommand.Options
        var runs: [FanoutMeasurement]

        var sweep: FanoutSweep { FanoutSweep(runs: runs, latencyTargetMilliseconds: options.latencyTargetMilliseconds) }
    }

    var profile: BenchProfile
    var costReplay: CostReplayReport?
    var idle: [IdleMeasurement] = []
    var idleOptions: IdleCommand.Options?
    var fanout: [FanoutRuns] = []
    var multinode: (options: MultinodeCommand.Options, runs: [MultinodeMeasurement])?
    var ttft: TTFTMeasurement?
    var stop: StopMeasurement?

    init(profile: BenchProfile) { self.profile = profile }

    func json(elapsedSeconds: Double, summary: SuiteSummary) -> [String: Any] {
        var scenarios: [String: Any] = [:]
        if let costReplay { scenarios["cost-replay"] = costReplay.json }
        if let idleOptions { scenarios["idle"] = IdleCommand.json(idle, idleOptions) }
        for shape in fanout { scenarios["fanout-\(shape.shape.name)"] = FanoutCommand.json(shape.runs, shape.options) }
        if let multinode { scenarios["multinode"] = MultinodeCommand.json(multinode.runs, multinode.options) }
        if let ttft { scenarios["ttft"] = ttft.json }
        if let stop { scenarios["stop"] = stop.json }
        return ["date": ResultsFile.utcDate(), "profile": profile.name, "machine": ResultsFile.machine,
                "elapsed_seconds": elapsedSeconds, "summary": summary.json, "summary_notes": summary.notes,
                "scenarios": scenarios]
    }
}
