import XCTest
@testable import GatewayCore

/// `TypingThrottle` on explicit times: one typing per connection and session per interval.
final class TypingThrottleTests: XCTestCase {
    private let a = ConnectionID(1)
    private let b = ConnectionID(2)

    func testOnePerIntervalPerConnectionAndSession() {
        var throttle = TypingThrottle(intervalMillis: 1_000)
        XCTAssertTrue(throttle.allow(session: "s", connection: a, now: 10_000))
        XCTAssertFalse(throttle.allow(session: "s", connection: a, now: 10_001))
        XCTAssertFalse(throttle.allow(session: "s", connection: a, now: 10_999))
        XCTAssertTrue(throttle.allow(session: "s", connection: b, now: 10_500), "another connection")
        XCTAssertTrue(throttle.allow(session: "t", connection: a, now: 10_500), "another session")
        XCTAssertTrue(throttle.allow(session: "s", connection: a, now: 11_000))
        XCTAssertFalse(throttle.allow(session: "s", connection: a, now: 11_500), "the interval restarts from the allowed one")
        XCTAssertTrue(throttle.allow(session: "s", connection: a, now: 12_000))
    }

    func testDroppedTypingsDoNotExtendTheInterval() {
        var throttle = TypingThrottle(intervalMillis: 1_000)
        XCTAssertTrue(throttle.allow(session: "s", connection: a, now: 0))
        for now in stride(from: 100, to: 1_000, by: 100) { XCTAssertFalse(throttle.allow(session: "s", connection: a, now: now)) }
        XCTAssertTrue(throttle.allow(session: "s", connection: a, now: 1_000))
    }

    func testAClockThatWentBackAllows() {
        var throttle = TypingThrottle(intervalMillis: 1_000)
        XCTAssertTrue(throttle.allow(session: "s", connection: a, now: 5_000))
        XCTAssertTrue(throttle.allow(session: "s", connection: a, now: 4_000))
        XCTAssertFalse(throttle.allow(session: "s", connection: a, now: 4_500))
    }

    func testForgetStartsAfreshAndDropsTheEntry() {
        var throttle = TypingThrottle()
        XCTAssertEqual(throttle.intervalMillis, TypingThrottle.defaultIntervalMillis)
        XCTAssertTrue(throttle.allow(session: "s", connection: a, now: 0))
        XCTAssertTrue(throttle.allow(session: "t", connection: a, now: 0))
        throttle.forget(session: "s", connection: a)
        XCTAssertEqual(throttle.count, 1)
        XCTAssertTrue(throttle.allow(session: "s", connection: a, now: 1))
        XCTAssertFalse(throttle.allow(session: "t", connection: a, now: 1))
    }
}
