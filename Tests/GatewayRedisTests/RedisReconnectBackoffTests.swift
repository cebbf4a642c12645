import RedisTestSupport
import GatewayRedis
import XCTest

final class RedisReconnectBackoffTests: XCTestCase {
    func testDoublesFromTheInitialDelayUpToTheCap() {
        let backoff = RedisReconnectBackoff(initialDelay: .milliseconds(100), maximumDelay: .seconds(1))
        XCTAssertEqual((0...6).map { backoff.delay(afterFailures: $0) },
                       [.zero, .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                        .seconds(1), .seconds(1)])
        XCTAssertEqual(backoff.delay(afterFailures: 10_000), .seconds(1), "no overflow after many failures")
    }

    func testACapBelowTheInitialDelayIsRaisedToIt() {
        let backoff = RedisReconnectBackoff(initialDelay: .seconds(2), maximumDelay: .seconds(1))
        XCTAssertEqual(backoff.delay(afterFailures: 3), .seconds(2))
    }
}
