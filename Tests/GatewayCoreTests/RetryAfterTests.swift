import XCTest
@testable import GatewayCore

final class RetryAfterTests: XCTestCase {
    private let now = 1_764_800_000_000  // 2025-12-03T22:13:20Z

    private func millis(_ headers: [(String, String)]) -> Int? {
        RetryAfter.millis(headers: headers.map { (name: $0.0, value: $0.1) }, nowMillis: now)
    }

    func testDeltaSeconds() {
        XCTAssertEqual(millis([("Retry-After", "7")]), 7000)
        XCTAssertEqual(millis([("retry-after", " 0 ")]), 0)
        XCTAssertEqual(millis([("Retry-After", "1.5")]), 1500)
    }

    func testMillisecondsHeaderWins() {
        XCTAssertEqual(millis([("Retry-After", "7"), ("retry-after-ms", "250")]), 250)
        XCTAssertEqual(millis([("Retry-After-Ms", "12.2")]), 13)
    }

    func testHTTPDateForms() {
        // now + 30 s in each of the three forms HTTP allows.
        XCTAssertEqual(millis([("Retry-After", "Wed, 03 Dec 2025 22:13:50 GMT")]), 30_000)
        XCTAssertEqual(millis([("Retry-After", "Wednesday, 03-Dec-25 22:13:50 GMT")]), 30_000)
        XCTAssertEqual(millis([("Retry-After", "Wed Dec  3 22:13:50 2025")]), 30_000)
    }

    func testDateInThePastIsZero() {
        XCTAssertEqual(millis([("Retry-After", "Wed, 03 Dec 2025 22:00:00 GMT")]), 0)
    }

    func testAbsentOrUnreadableIsNil() {
        XCTAssertNil(millis([]))
        XCTAssertNil(millis([("Retry-After", "soon")]))
        XCTAssertNil(millis([("Retry-After", "-3")]))
        XCTAssertNil(millis([("retry-after-ms", "nan"), ("Retry-After", "")]))
    }

    /// An upstream can send any number. Converting one past `Int` to `Int` traps, and a wait near
    /// `Int.max` overflows when added to the clock: the value is capped instead.
    func testHugeValuesAreCappedRatherThanTrapping() {
        for headers in [[("retry-after-ms", "1e300")], [("Retry-After", "99999999999999999999")],
                        [("Retry-After", "1e17")], [("Retry-After", "9223372036854775")]] {
            let value = millis(headers)
            XCTAssertEqual(value, RetryAfter.maxMillis, "\(headers)")
            XCTAssertLessThan(now + (value ?? 0), Int.max / 2, "\(headers): adding it to the clock must not overflow")
        }
        XCTAssertEqual(millis([("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")]), RetryAfter.maxMillis)
        XCTAssertEqual(millis([("Retry-After", "86400")]), 86_400_000, "a day is still honoured as given")
    }
}
