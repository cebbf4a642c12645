import Synchronization
import XCTest
@testable import GatewayCore

/// What only the memory backend has: inline completions, and its table of buckets staying bounded.
/// The behaviour both backends share is tested against both in GatewayClusterTests.
final class MemoryRateLimiterTests: XCTestCase {
    /// A clock in µs that only moves when the test says.
    private let clock = ManualClock(startingAt: 5_000_000)
    private let rule = RateLimitRule(name: .connectionsPerIP, gcra: GCRA(rate: 60, burst: 2), failOpen: true)

    private func request(_ subject: String, cost: Int = 1) -> RateLimitRequest {
        RateLimitRequest(rule: rule, subject: subject, cost: cost)
    }

    /// The decision, which the memory backend must have given before `check` returned.
    private func decide(_ limiter: MemoryRateLimiter, _ requests: [RateLimitRequest]) -> RateDecision? {
        let answer = Answer<RateDecision>()
        limiter.check(requests) { answer.set($0) }
        return answer.value
    }

    func testCompletionsAreCalledBeforeCheckAndSettleReturn() {
        let limiter = MemoryRateLimiter(clock: clock.reading)
        XCTAssertEqual(decide(limiter, [request("a")]), .allowed)
        let settled = Answer<RateLimiterFailure?>()
        limiter.settle([request("a", cost: 1)]) { settled.set($0) }
        XCTAssertEqual(settled.value, .some(nil), "settled inline, without a failure")
    }

    func testABucketBackToFullIsDroppedNotKept() {
        let limiter = MemoryRateLimiter(clock: clock.reading)
        XCTAssertEqual(decide(limiter, [request("a")]), .allowed)
        XCTAssertEqual(limiter.storedTAT(ofBucket: request("a").bucket), 6_000_000)
        limiter.settle([request("a", cost: -1)]) { _ in }
        XCTAssertNil(limiter.storedTAT(ofBucket: request("a").bucket), "a refund back to full leaves nothing stored")
        XCTAssertEqual(limiter.bucketCount, 0)
    }

    func testBucketsWhoseTATPassedAreSweptAsOperationsGoOn() {
        let limiter = MemoryRateLimiter(clock: clock.reading)
        for n in 0..<500 { XCTAssertEqual(decide(limiter, [request("old-\(n)")]), .allowed) }
        XCTAssertEqual(limiter.bucketCount, 500)
        clock.advance(by: 1_000_001)  // every one of them is full again
        for n in 0..<1_100 { _ = decide(limiter, [request("new-\(n % 10)")]) }
        XCTAssertEqual(limiter.bucketCount, 10, "the 500 old ones were swept out")
    }

    func testLiveBucketsBeyondTheCapForgetThoseNearestToFullFirst() {
        let limiter = MemoryRateLimiter(maxBuckets: 100, clock: clock.reading)
        // "debtor" owes the most, so it is kept whatever else arrives.
        XCTAssertEqual(decide(limiter, [request("debtor", cost: 2)]), .allowed)
        for n in 0..<1_000 {
            XCTAssertEqual(decide(limiter, [request("addr-\(n)")]), .allowed)
            XCTAssertLessThanOrEqual(limiter.bucketCount, 100)
        }
        XCTAssertEqual(decide(limiter, [request("debtor")]), .refused(.connectionsPerIP, retryAfterMillis: 1_000))
    }

    func testEveryCheckIsAllOrNothing() {
        let limiter = MemoryRateLimiter(clock: clock.reading)
        let other = RateLimitRule(name: .messagesPerUser, gcra: GCRA(rate: 60, burst: 5), failOpen: true)
        XCTAssertEqual(decide(limiter, [request("a", cost: 2)]), .allowed)
        let both = [RateLimitRequest(rule: other, subject: "a", cost: 1), request("a")]
        XCTAssertEqual(decide(limiter, both), .refused(.connectionsPerIP, retryAfterMillis: 1_000))
        XCTAssertNil(limiter.storedTAT(ofBucket: both[0].bucket), "the bucket with room took nothing")
    }

    func testTheRefusalNamedIsTheLongestWait() {
        let limiter = MemoryRateLimiter(clock: clock.reading)
        let slow = RateLimitRule(name: .llmTokensPerTenant, gcra: GCRA(rate: 6, burst: 1), failOpen: false)
        XCTAssertEqual(decide(limiter, [request("a", cost: 2), RateLimitRequest(rule: slow, subject: "t", cost: 1)]), .allowed)
        let again = [request("a"), RateLimitRequest(rule: slow, subject: "t", cost: 1)]
        XCTAssertEqual(decide(limiter, again), .refused(.llmTokensPerTenant, retryAfterMillis: 10_000))
    }

    func testTheMonotonicClockMovesForward() {
        let first = MemoryRateLimiter.monotonicMicros()
        XCTAssertGreaterThanOrEqual(MemoryRateLimiter.monotonicMicros(), first)
    }

    func testConcurrentChecksOnOneBucketAdmitExactlyTheBurst() {
        let limiter = MemoryRateLimiter(clock: clock.reading)
        let bucket = RateLimitRule(name: .messagesPerUser, gcra: GCRA(rate: 60, burst: 500), failOpen: true)
        let admitted = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 2_000) { _ in
            limiter.check([RateLimitRequest(rule: bucket, subject: "u", cost: 1)]) { decision in
                if decision == .allowed { admitted.withLock { $0 += 1 } }
            }
        }
        XCTAssertEqual(admitted.withLock { $0 }, 500)
    }
}

/// A value a completion hands back, read by the test afterwards.
private final class Answer<Value: Sendable>: Sendable {
    private let stored = Mutex<Value?>(nil)
    var value: Value? { stored.withLock { $0 } }
    func set(_ value: Value) { stored.withLock { $0 = value } }
}
