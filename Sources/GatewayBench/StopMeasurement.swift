import Foundation

/// `stop` to the upstream's connection closed, and to the client's `turn.end`.
struct StopMeasurement {
    var stops: Int
    var afterMilliseconds: Double
    var tokensPerSecond: Double
    var upstreamClosed = Samples()
    var turnEnded = Samples()

    var json: [String: Any] {
        ["scenario": "stop", "date": ResultsFile.utcDate(), "machine": ResultsFile.machine,
         "stops": stops, "after_first_delta_ms": afterMilliseconds, "upstream_tokens_per_second": tokensPerSecond,
         "stop_to_upstream_closed": upstreamClosed.json, "stop_to_turn_end": turnEnded.json]
    }

    var markdown: [String] {
        func row(_ name: String, _ samples: Samples) -> String {
            func ms(_ quantile: Double) -> String { samples.milliseconds(quantile).map { String(format: "%.2f", $0) } ?? "-" }
            return "| \(name) | \(samples.count) | \(ms(0.5)) | \(ms(0.99)) | \(ms(0)) | \(ms(1)) |"
        }
        return ["stop: client's stop -> the upstream sees its connection closed (its own clock reading, same machine)", "",
                "| from stop to | stops | p50 ms | p99 ms | min ms | max ms |", "|---|---:|---:|---:|---:|---:|",
                row("upstream connection closed", upstreamClosed), row("turn.end (cancelled) at the client", turnEnded)]
    }
}
