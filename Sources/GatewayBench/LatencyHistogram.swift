/// Latencies in microseconds, kept HDR-style: exact below 128 µs, then 64 buckets per power of two
/// (every recorded value is within 1.6 % of its bucket's bounds). Fixed size, no allocation per
/// value, and mergeable, so each client process keeps its own and the coordinator adds them up.
struct LatencyHistogram: Codable, Equatable {
    private static let exactLimit = 128
    private static let bucketsPerOctave = 64
    /// Enough octaves for 2^40 µs (12 days): larger values land in the last bucket.
    private static let bucketCount = exactLimit + bucketsPerOctave * 34

    private(set) var counts: [Int]
    private(set) var count = 0
    private(set) var sum = 0
    private(set) var min = Int.max
    private(set) var max = 0

    init() { counts = Array(repeating: 0, count: Self.bucketCount) }

    mutating func record(_ microseconds: Int) {
        let value = Swift.max(0, microseconds)
        counts[Swift.min(Self.bucket(of: value), Self.bucketCount - 1)] += 1
        count += 1
        sum += value
        min = Swift.min(min, value)
        max = Swift.max(max, value)
    }

    mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        count += other.count
        sum += other.sum
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    /// The smallest recorded-value bound below which a share `quantile` (0...1) of the values
    /// lie: the upper bound of the bucket holding that rank, capped at the largest value seen.
    /// nil when empty.
    func percentile(_ quantile: Double) -> Int? {
        guard count > 0 else { return nil }
        let rank = Swift.max(1, Int((quantile * Double(count)).rounded(.up)))
        var seen = 0
        for (index, bucketCount) in counts.enumerated() where bucketCount > 0 {
            seen += bucketCount
            if seen >= rank { return Swift.min(Self.upperBound(of: index), max) }
        }
        return max
    }

    var mean: Double? { count == 0 ? nil : Double(sum) / Double(count) }

    static func bucket(of value: Int) -> Int {
        guard value >= exactLimit else { return value }
        // For value in [2^k, 2^(k+1)) with k >= 7: shift = k - 6 keeps 7 significant bits, 64...127.
        let shift = (Int.bitWidth - 1 - value.leadingZeroBitCount) - 6
        return bucketsPerOctave * shift + (value >> shift)
    }

    static func upperBound(of bucket: Int) -> Int {
        guard bucket >= exactLimit else { return bucket }
        let shift = bucket / bucketsPerOctave - 1
        let mantissa = bucket - bucketsPerOctave * shift
        return ((mantissa + 1) << shift) - 1
    }

    // Sparse on the wire: [[bucket, count], ...] for the buckets in use.
    private enum CodingKeys: String, CodingKey { case buckets, count, sum, min, max }

    init(from decoder: any Decoder) throws {
        self.init()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        for pair in try container.decode([[Int]].self, forKey: .buckets) where pair.count == 2 {
            guard counts.indices.contains(pair[0]) else { continue }
            counts[pair[0]] = pair[1]
        }
        count = try container.decode(Int.self, forKey: .count)
        sum = try container.decode(Int.self, forKey: .sum)
        min = try container.decode(Int.self, forKey: .min)
        max = try container.decode(Int.self, forKey: .max)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        let used = counts.enumerated().filter { $0.element > 0 }.map { [$0.offset, $0.element] }
        try container.encode(used, forKey: .buckets)
        try container.encode(count, forKey: .count)
        try container.encode(sum, forKey: .sum)
        try container.encode(min, forKey: .min)
        try container.encode(max, forKey: .max)
    }
}
