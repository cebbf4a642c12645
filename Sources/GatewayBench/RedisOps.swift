import Foundation

/// Redis commands a run cost, from `INFO` readings just before the turns started and just after
/// the last one ended, over the tokens appended and the turns run. Joins, hellos and the nodes'
/// start-up happen before the first reading, closes after the last, so what is left is the turns'
/// work plus whatever the nodes do on their own meanwhile (presence lease renewals and sweeps,
/// the work queue's polls and reaper). That background is measured too, over an idle window
/// before the turns, and reported apart so the per-token figure can be read both ways.
struct RedisOps {
    /// From the reading before `go` to the one after `done`.
    var run: RedisCounters
    var runSeconds: Double
    /// Over the idle window before `go` (nil: no window was measured).
    var background: RedisCounters?
    var backgroundSeconds: Double
    var turns: Int
    var tokens: Int

    /// Commands per second the nodes issue with no turn running.
    var backgroundPerSecond: Double? {
        guard let background, backgroundSeconds > 0 else { return nil }
        return Double(background.totalCommandsProcessed) / backgroundSeconds
    }

    /// The run's commands less the background rate over the run's length.
    var netCommands: Double? {
        backgroundPerSecond.map { max(0, Double(run.totalCommandsProcessed) - $0 * runSeconds) }
    }

    func perToken(_ count: Double) -> Double { tokens > 0 ? count / Double(tokens) : 0 }
    func perTurn(_ count: Double) -> Double { turns > 0 ? count / Double(turns) : 0 }

    var evalshaPerToken: Double { perToken(Double(run.calls["evalsha"] ?? 0)) }

    /// Calls per command name, most first (ties by name, so the order is stable).
    var commandsByCount: [(name: String, calls: Int)] {
        run.calls.map { ($0.key, $0.value) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
    }

    var json: [String: Any] {
        var perCommand: [String: Any] = [:]
        for (name, calls) in run.calls {
            perCommand[name] = ["calls": calls, "per_token": perToken(Double(calls)), "per_turn": perTurn(Double(calls))]
        }
        let total = Double(run.totalCommandsProcessed)
        var entry: [String: Any] = [
            "turns": turns, "tokens_appended": tokens, "seconds": runSeconds,
            "total_commands_processed": run.totalCommandsProcessed,
            "commandstats_calls": run.totalCalls,
            "commands_per_token": perToken(total), "commands_per_turn": perTurn(total),
            "evalsha_per_token": evalshaPerToken,
            "commands": perCommand,
            // Redis 7.0's INFO has no count of pub/sub messages delivered (only of channels).
            "pubsub_messages_delivered": NSNull(),
        ]
        entry["background_commands_per_second"] = backgroundPerSecond ?? NSNull()
        entry["background_seconds"] = background == nil ? NSNull() : backgroundSeconds
        entry["background_total_commands_processed"] = background?.totalCommandsProcessed ?? NSNull()
        entry["background_commandstats_calls"] = background?.totalCalls ?? NSNull()
        entry["background_commands"] = background.map { Dictionary(uniqueKeysWithValues: $0.calls.map { ($0.key, $0.value) }) } ?? NSNull()
        entry["net_commands_per_token"] = netCommands.map(perToken) ?? NSNull()
        entry["net_commands_per_turn"] = netCommands.map(perTurn) ?? NSNull()
        return entry
    }

    /// What the table's footnotes say: the totals, then each command's share.
    func lines(label: String) -> [String] {
        let total = Double(run.totalCommandsProcessed)
        var lines = [String(format: "\(label): \(turns) turns, \(tokens) tokens appended, %d Redis commands in %.1f s "
                            + "(total_commands_processed; commandstats calls %d): %.2f per token, %.1f per turn; "
                            + "evalsha %.2f per token",
                            run.totalCommandsProcessed, runSeconds, run.totalCalls, perToken(total), perTurn(total),
                            evalshaPerToken)]
        if let rate = backgroundPerSecond, let net = netCommands {
            lines.append(String(format: "  background with no turn running: %.1f commands/s over %.1f s (", rate, backgroundSeconds)
                         + Self.summary(background?.calls ?? [:])
                         + String(format: "); net of it: %.2f per token, %.1f per turn", perToken(net), perTurn(net)))
        }
        lines.append("  per command (calls, per token, per turn): " + commandsByCount.map { name, calls in
            "\(name) \(calls) (" + String(format: "%.2f, %.1f", perToken(Double(calls)), perTurn(Double(calls))) + ")"
        }.joined(separator: ", "))
        return lines
    }

    private static func summary(_ calls: [String: Int]) -> String {
        calls.isEmpty ? "none" : calls.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}
