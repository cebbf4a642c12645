import Foundation
import GatewayCore
import XCTest

/// What every `RateLimiter` does, whatever its backend: run by `MemoryRateLimiterBehaviourTests`
/// and `RedisRateLimiterTests`, each with a fresh limiter per test.
///
/// Both backends run on a real clock (Redis's `TIME`, the memory one's monotonic clock), so the
/// limits here are slow (one unit a minute, unless a test waits on purpose): nothing refills
/// while a test runs, and retry-after values are checked to within the second a slow machine
/// may take. (XCTest's assertions take no `await`, hence the `expect…` helpers.)
struct RateLimiterBehaviour {
    let limiter: any RateLimiter

    /// One a minute, five at once.
    static let slow = RateLimitRule(name: .messagesPerUser, gcra: GCRA(rate: 1, burst: 5), failOpen: true)
    /// 100 a minute (600 ms each), a minute's worth at once.
    static let tokens = RateLimitRule(name: .llmTokensPerUser, gcra: GCRA(rate: 100, burst: 100), failOpen: false)
    static let single = RateLimitRule(name: .connectionsPerIP, gcra: GCRA(rate: 1, burst: 1), failOpen: true)
    static let pair = RateLimitRule(name: .llmTokensPerTenant, gcra: GCRA(rate: 1, burst: 2), failOpen: false)

    static func request(_ rule: RateLimitRule, _ subject: String, cost: Int = 1) -> RateLimitRequest {
        RateLimitRequest(rule: rule, subject: subject, cost: cost)
    }

    func check(_ requests: [RateLimitRequest]) async -> RateDecision {
        await withCheckedContinuation { continuation in limiter.check(requests) { continuation.resume(returning: $0) } }
    }

    func check(_ rule: RateLimitRule, _ subject: String, cost: Int = 1) async -> RateDecision {
        await check([Self.request(rule, subject, cost: cost)])
    }

    func settle(_ requests: [RateLimitRequest]) async -> RateLimiterFailure? {
        await withCheckedContinuation { continuation in limiter.settle(requests) { continuation.resume(returning: $0) } }
    }

    /// Takes of `cost` allowed in a row before the first refusal (at most `limit`).
    func admittedInARow(_ rule: RateLimitRule, _ subject: String, cost: Int = 1, limit: Int = 50) async -> Int {
        for count in 0..<limit where await check(rule, subject, cost: cost) != .allowed {
            return count
        }
        return limit
    }

    func expect(_ requests: [RateLimitRequest], _ expected: RateDecision, _ message: String = "",
                file: StaticString = #filePath, line: UInt = #line) async {
        let decision = await check(requests)
        XCTAssertEqual(decision, expected, message, file: file, line: line)
    }

    func expectAllowed(_ rule: RateLimitRule, _ subject: String, cost: Int = 1, _ message: String = "",
                       file: StaticString = #filePath, line: UInt = #line) async {
        await expect([Self.request(rule, subject, cost: cost)], .allowed, message, file: file, line: line)
    }

    func expectAdmittedInARow(_ rule: RateLimitRule, _ subject: String, _ expected: Int, _ message: String = "",
                              file: StaticString = #filePath, line: UInt = #line) async {
        let admitted = await admittedInARow(rule, subject)
        XCTAssertEqual(admitted, expected, message, file: file, line: line)
    }

    func expectRefused(_ requests: [RateLimitRequest], by name: RateLimitName, retryAfterAbout millis: Int,
                       file: StaticString = #filePath, line: UInt = #line) async {
        let decision = await check(requests)
        guard case .refused(let refusedBy, let retry) = decision else {
            return XCTFail("expected a refusal by \(name), got \(decision)", file: file, line: line)
        }
        XCTAssertEqual(refusedBy, name, file: file, line: line)
        XCTAssertTrue((millis - 1_000...millis).contains(retry), "retry after \(retry) ms, expected about \(millis)",
                      file: file, line: line)
    }

    func expectRefused(_ rule: RateLimitRule, _ subject: String, cost: Int = 1, retryAfterAbout millis: Int,
                       file: StaticString = #filePath, line: UInt = #line) async {
        await expectRefused([Self.request(rule, subject, cost: cost)], by: rule.name, retryAfterAbout: millis, file: file, line: line)
    }

    func expectSettled(_ rule: RateLimitRule, _ subject: String, cost: Int, file: StaticString = #filePath, line: UInt = #line) async {
        let failure = await settle([Self.request(rule, subject, cost: cost)])
        XCTAssertNil(failure, file: file, line: line)
    }

    // MARK: - The behaviour

    func aFullBucketAdmitsItsBurstThenRefusesForAnInterval() async {
        await expectAdmittedInARow(Self.slow, "alice", 5)
        await expectRefused(Self.slow, "alice", retryAfterAbout: 60_000)
        await expectRefused(Self.slow, "alice", cost: 3, retryAfterAbout: 180_000)
    }

    func bucketsOfOtherSubjectsAndLimitsAreUntouched() async {
        await expectAdmittedInARow(Self.slow, "alice", 5)
        await expectAdmittedInARow(Self.slow, "bob", 5)
        let otherLimit = RateLimitRule(name: .connectionsPerIP, gcra: GCRA(rate: 1, burst: 5), failOpen: true)
        await expectAdmittedInARow(otherLimit, "alice", 5)
    }

    func aCheckIsAllOrNothing() async {
        await expectAllowed(Self.single, "10.0.0.1")
        await expectRefused([Self.request(Self.slow, "alice"), Self.request(Self.single, "10.0.0.1")],
                            by: .connectionsPerIP, retryAfterAbout: 60_000)
        await expectAdmittedInARow(Self.slow, "alice", 5, "the bucket with room took nothing")
    }

    func theRefusalNamedIsTheLongestWait() async {
        await expectAllowed(Self.single, "a")
        await expectAllowed(Self.pair, "t", cost: 2)
        await expectRefused([Self.request(Self.single, "a"), Self.request(Self.pair, "t", cost: 2)],
                            by: .llmTokensPerTenant, retryAfterAbout: 120_000)
    }

    func aRefundGivesRoomBackButBanksNoCredit() async {
        await expectAdmittedInARow(Self.slow, "alice", 5)
        await expectAllowed(Self.slow, "alice", cost: -2, "a refund always passes")
        await expectAdmittedInARow(Self.slow, "alice", 2)

        await expectAllowed(Self.slow, "bob", cost: -3)
        await expectAdmittedInARow(Self.slow, "bob", 5, "not 8")
    }

    func aCostAboveTheBurstPassesOnlyWithAFullBucketAndIsOwed() async {
        await expectAllowed(Self.tokens, "u1", cost: 300)
        // 200 tokens owed past the burst, then one token's 600 ms.
        await expectRefused(Self.tokens, "u1", retryAfterAbout: 120_600)

        await expectAllowed(Self.tokens, "u2")
        await expectRefused(Self.tokens, "u2", cost: 300, retryAfterAbout: 600)
    }

    func settlingOwesPastTheBurstAndRefundsBackToFull() async {
        await expectSettled(Self.tokens, "u1", cost: 150)
        // 90 s ahead against a 60 s tolerance, then one token.
        await expectRefused(Self.tokens, "u1", retryAfterAbout: 30_600)
        await expectSettled(Self.tokens, "u1", cost: -1_000)
        await expectAllowed(Self.tokens, "u1", cost: 100, "full again")
        await expectRefused(Self.tokens, "u1", cost: 50, retryAfterAbout: 30_000)
    }

    func noRequestsIsAllowedAtOnce() async {
        await expect([], .allowed)
        let failure = await settle([])
        XCTAssertNil(failure)
    }

    /// The one test that waits: a bucket refills on the backend's clock.
    func aRefusedTakePassesOnceItsRetryAfterHasPassed() async throws {
        let perSecond = RateLimitRule(name: .messagesPerUser, gcra: GCRA(rate: 60, burst: 1), failOpen: true)
        await expectAllowed(perSecond, "alice")
        guard case .refused(_, let retry) = await check(perSecond, "alice") else { return XCTFail("not refused") }
        XCTAssertLessThanOrEqual(retry, 1_000)
        try await Task.sleep(for: .milliseconds(retry))
        await expectAllowed(perSecond, "alice")
    }
}
