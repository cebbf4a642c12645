import Foundation
@testable import GatewayBench
import XCTest

final class LatencyHistogramTests: XCTestCase {
    func testPercentilesAreWithinTheBucketPrecision() {
        var histogram = LatencyHistogram()
        for value in 1...100_000 { histogram.record(value) }
        for (quantile, exact) in [(0.5, 50_000.0), (0.99, 99_000.0), (0.999, 99_900.0)] {
            let reported = Double(histogram.percentile(quantile)!)
            XCTAssertGreaterThanOrEqual(reported, exact, "never below the true value")
            XCTAssertLessThanOrEqual(reported, exact * 1.016, "within one bucket (1/64)")
        }
        XCTAssertEqual(histogram.percentile(1.0), 100_000)
        XCTAssertEqual(histogram.percentile(0), 1)
        XCTAssertEqual(histogram.count, 100_000)
        XCTAssertEqual(histogram.min, 1)
        XCTAssertEqual(histogram.mean!, 50_000.5, accuracy: 1e-9)
    }

    func testSmallValuesAreExactAndNegativeOnesCountAsZero() {
        var histogram = LatencyHistogram()
        [3, 3, 3, 100, -5].forEach { histogram.record($0) }
        XCTAssertEqual(histogram.percentile(0.2), 0)
        XCTAssertEqual(histogram.percentile(0.5), 3)
        XCTAssertEqual(histogram.percentile(0.99), 100)
    }

    func testEveryValueLiesInsideItsBucket() {
        var value = 0
        while value < 1 << 36 {
            let bucket = LatencyHistogram.bucket(of: value)
            XCTAssertLessThanOrEqual(value, LatencyHistogram.upperBound(of: bucket), "\(value)")
            if bucket > 0 { XCTAssertGreaterThan(value, LatencyHistogram.upperBound(of: bucket - 1), "\(value)") }
            value = value < 1000 ? value + 1 : value + value / 37
        }
    }

    func testMergingAndTheSparseWireFormatKeepEverything() throws {
        var a = LatencyHistogram()
        var b = LatencyHistogram()
        var both = LatencyHistogram()
        for value in stride(from: 0, to: 50_000, by: 7) { a.record(value); both.record(value) }
        for value in stride(from: 1_000_000, to: 1_050_000, by: 11) { b.record(value); both.record(value) }
        a.merge(b)
        XCTAssertEqual(a, both)
        let decoded = try JSONDecoder().decode(LatencyHistogram.self, from: JSONEncoder().encode(a))
        XCTAssertEqual(decoded, both)
        XCTAssertNil(LatencyHistogram().percentile(0.5))
        var empty = LatencyHistogram()
        empty.merge(LatencyHistogram())
        XCTAssertEqual(empty.count, 0)
    }
}
