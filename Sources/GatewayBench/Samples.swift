import Foundation

/// A few hundred latencies in µs, kept whole: the latency scenarios take one per turn, so exact
/// quantiles cost nothing (the fan-out scenario's millions go into `LatencyHistogram`).
struct Samples: Equatable {
    private(set) var values: [Int] = []

    mutating func record(_ microseconds: Int) { values.append(microseconds) }

    var count: Int { values.count }

    /// Nearest rank: the smallest value with at least `quantile` of the values at or below it.
    func quantile(_ quantile: Double) -> Int? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = max(1, Int((quantile * Double(sorted.count)).rounded(.up)))
        return sorted[min(rank, sorted.count) - 1]
    }

    func milliseconds(_ quantile: Double) -> Double? { self.quantile(quantile).map { Double($0) / 1000 } }

    var json: [String: Any] {
        func number(_ value: Double?) -> Any { value ?? NSNull() }
        return ["count": count, "p50_ms": number(milliseconds(0.5)), "p99_ms": number(milliseconds(0.99)),
                "min_ms": number(milliseconds(0)), "max_ms": number(milliseconds(1))]
    }
}
