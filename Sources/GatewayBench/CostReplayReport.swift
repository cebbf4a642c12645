import Foundation
import GatewayCore

/// The cost-replay results: a markdown table for the terminal and a JSON document for
/// bench/results/, one row (one entry of `paths`) per replayed path, the first being the naive one.
public struct CostReplayReport {
    public var date: String
    public var workloadPath: String
    public var configPath: String
    public var config: CostReplayConfig
    public var workload: Workload
    public var results: [(path: CostReplay.Path, totals: ReplayTotals)]

    var naive: ReplayTotals { results[0].totals }
    var optimized: ReplayTotals { results[results.count - 1].totals }

    /// Turns sent to another model than the naive path's one.
    func routedAway(_ totals: ReplayTotals) -> Double { totals.turns == 0 ? 0 : 1 - totals.share(of: config.naiveModel) }

    public var markdown: String {
        var lines = [
            "cost-replay: \(workload.conversations.count) conversations, \(workload.turnCount) turns (\(workloadPath))",
            "",
            "| path | turns | cache hits | routed off \(config.naiveModel) | tokens in | tokens out | trimmed turns | cost (USD) | saving |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for (path, totals) in results {
            lines.append("| \(path.name) | \(totals.turns) | \(totals.cacheHits) | \(percent(routedAway(totals))) | "
                         + "\(totals.inputTokens) | \(totals.outputTokens) | \(totals.trimmedTurns) | "
                         + "\(String(format: "%.6f", totals.cost.totalUSD)) | \(String(format: "%.1f %%", totals.savingPercent(against: naive))) |")
        }
        lines.append("")
        lines.append("optimized routing: " + optimized.turnsByReason.sorted { $0.value > $1.value }
            .map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        let prices = config.prices.prices.sorted { $0.key < $1.key }
            .map { "\($0.key) $\(format($0.value.inputUSDPerMillion))/$\(format($0.value.outputUSDPerMillion)) per 1M in/out" }
        lines.append("prices: " + prices.joined(separator: "; "))
        return lines.joined(separator: "\n")
    }

    public var json: [String: Any] {
        [
            "scenario": "cost-replay",
            "date": date,
            "workload": workloadPath,
            "config": configPath,
            "conversations": workload.conversations.count,
            "turns": workload.turnCount,
            "naive_model": config.naiveModel,
            "cache_hits": optimized.cacheHits,
            "share_routed": optimized.turnsByModel.mapValues { Double($0) / Double(max(optimized.turns, 1)) },
            "share_routed_away": routedAway(optimized),
            "naive": summary(naive),
            "optimized": summary(optimized),
            "saving_percent": optimized.savingPercent(against: naive),
            "paths": results.map { path, totals -> [String: Any] in
                var entry = summary(totals)
                entry["name"] = path.name
                entry["routes"] = path.routes
                entry["trims"] = path.trims
                entry["caches"] = path.caches
                entry["saving_percent"] = totals.savingPercent(against: naive)
                return entry
            },
            "turn_log": optimized.records.map { record -> [String: Any] in
                ["conversation": record.conversation, "turn": record.turn, "model": record.model, "reason": record.reason,
                 "cache_hit": record.cacheHit, "input_tokens": record.inputTokens, "output_tokens": record.outputTokens,
                 "cost_usd": record.costUSD]
            },
            "prices": config.prices.prices.mapValues { ["input_usd_per_million": $0.inputUSDPerMillion,
                                                        "output_usd_per_million": $0.outputUSDPerMillion] },
        ]
    }

    private func summary(_ totals: ReplayTotals) -> [String: Any] {
        [
            "turns": totals.turns,
            "cache_hits": totals.cacheHits,
            "input_tokens": totals.inputTokens,
            "output_tokens": totals.outputTokens,
            "cost_usd": totals.cost.totalUSD,
            "input_cost_usd": totals.cost.inputUSD,
            "output_cost_usd": totals.cost.outputUSD,
            "turns_by_model": totals.turnsByModel,
            "turns_by_reason": totals.turnsByReason,
            "trimmed_turns": totals.trimmedTurns,
            "dropped_messages": totals.droppedMessages,
            "dropped_tokens": totals.droppedTokens,
        ]
    }

    private func percent(_ share: Double) -> String { String(format: "%.1f %%", share * 100) }
    private func format(_ price: Double) -> String { String(format: "%g", price) }
}
