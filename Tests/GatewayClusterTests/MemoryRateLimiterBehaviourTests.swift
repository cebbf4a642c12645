import GatewayCore
import XCTest

/// `RateLimiterBehaviour` against the memory backend (the twin of `RedisRateLimiterTests`).
final class MemoryRateLimiterBehaviourTests: XCTestCase {
    private var behaviour: RateLimiterBehaviour { RateLimiterBehaviour(limiter: MemoryRateLimiter()) }

    func testAFullBucketAdmitsItsBurstThenRefusesForAnInterval() async { await behaviour.aFullBucketAdmitsItsBurstThenRefusesForAnInterval() }
    func testBucketsOfOtherSubjectsAndLimitsAreUntouched() async { await behaviour.bucketsOfOtherSubjectsAndLimitsAreUntouched() }
    func testACheckIsAllOrNothing() async { await behaviour.aCheckIsAllOrNothing() }
    func testTheRefusalNamedIsTheLongestWait() async { await behaviour.theRefusalNamedIsTheLongestWait() }
    func testARefundGivesRoomBackButBanksNoCredit() async { await behaviour.aRefundGivesRoomBackButBanksNoCredit() }
    func testACostAboveTheBurstPassesOnlyWithAFullBucketAndIsOwed() async { await behaviour.aCostAboveTheBurstPassesOnlyWithAFullBucketAndIsOwed() }
    func testSettlingOwesPastTheBurstAndRefundsBackToFull() async { await behaviour.settlingOwesPastTheBurstAndRefundsBackToFull() }
    func testNoRequestsIsAllowedAtOnce() async { await behaviour.noRequestsIsAllowedAtOnce() }
    func testARefusedTakePassesOnceItsRetryAfterHasPassed() async throws { try await behaviour.aRefusedTakePassesOnceItsRetryAfterHasPassed() }
}
