import Foundation

/// Time to first token through the gateway and straight to the upstream, and the difference.
struct TTFTMeasurement {
    var turns: Int
    var tokensPerTurn: Int
    var gateway = Samples()
    var direct = Samples()

    /// What the gateway adds at `quantile`: its quantile minus the direct one.
    func addedMilliseconds(_ quantile: Double) -> Double? {
        guard let through = gateway.milliseconds(quantile), let straight = direct.milliseconds(quantile) else { return nil }
        return through - straight
    }

    var json: [String: Any] {
        func number(_ value: Double?) -> Any { value ?? NSNull() }
        return ["scenario": "ttft", "date": ResultsFile.utcDate(), "machine": ResultsFile.machine,
                "turns": turns, "upstream_tokens_per_turn": tokensPerTurn,
                "gateway": gateway.json, "direct": direct.json,
                "added_ms": ["p50": number(addedMilliseconds(0.5)), "p99": number(addedMilliseconds(0.99))]]
    }

    var markdown: [String] {
        func ms(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "-" }
        return ["ttft: message sent -> first turn.delta (gateway) vs request sent -> first text (direct, same upstream, same curl client)", "",
                "| path | turns | p50 ms | p99 ms | min ms | max ms |", "|---|---:|---:|---:|---:|---:|",
                "| through the gateway | \(gateway.count) | \(ms(gateway.milliseconds(0.5))) | \(ms(gateway.milliseconds(0.99))) | \(ms(gateway.milliseconds(0))) | \(ms(gateway.milliseconds(1))) |",
                "| straight to the upstream | \(direct.count) | \(ms(direct.milliseconds(0.5))) | \(ms(direct.milliseconds(0.99))) | \(ms(direct.milliseconds(0))) | \(ms(direct.milliseconds(1))) |",
                "| added by the gateway | | \(ms(addedMilliseconds(0.5))) | \(ms(addedMilliseconds(0.99))) | | |"]
    }
}
