import XCTest
@testable import GatewayCore

/// `RateLimitPolicy`: which buckets a connection, a message and its turn's end take from, and how
/// much; and `RateDecision`'s reading of a backend failure.
final class RateLimitPolicyTests: XCTestCase {
    private var limits: RateLimits {
        var limits = RateLimits()
        limits.llmTokensPerTenant = RateLimits.Rate(perMinute: 100_000, burst: 100_000)
        return limits
    }

    func testRulesFollowTheConfigAndItsFailOpenSettings() {
        let policy = RateLimitPolicy(limits)
        XCTAssertEqual(policy.rule(.messagesPerUser), RateLimitRule(name: .messagesPerUser, gcra: GCRA(rate: 20, burst: 10), failOpen: true))
        XCTAssertEqual(policy.rule(.llmTokensPerUser), RateLimitRule(name: .llmTokensPerUser, gcra: GCRA(rate: 40_000, burst: 40_000), failOpen: false))
        XCTAssertEqual(policy.rule(.llmTokensPerTenant), RateLimitRule(name: .llmTokensPerTenant, gcra: GCRA(rate: 100_000, burst: 100_000), failOpen: false))
        XCTAssertEqual(policy.rule(.connectionsPerIP), RateLimitRule(name: .connectionsPerIP, gcra: GCRA(rate: 60, burst: 30), failOpen: true))
        XCTAssertNil(RateLimitPolicy(RateLimits()).rule(.llmTokensPerTenant), "tenants are unlimited by default")
        for name in RateLimitName.allCases { XCTAssertNil(RateLimitPolicy(.unlimited).rule(name), "\(name)") }
    }

    func testAConnectionTakesOneFromItsAddressUnlessTheAddressIsUnknown() {
        let policy = RateLimitPolicy(limits)
        XCTAssertEqual(policy.connection(from: "10.0.0.7"), [RateLimitRequest(rule: policy.rule(.connectionsPerIP)!, subject: "10.0.0.7", cost: 1)])
        XCTAssertEqual(policy.connection(from: ""), [])
        XCTAssertEqual(RateLimitPolicy(.unlimited).connection(from: "10.0.0.7"), [])
    }

    func testTheEstimateIsTheKnownInputByTheUsageRuleAndTheOutputReserve() {
        let policy = RateLimitPolicy(limits)
        // "Be brief." is 9 bytes: 3 tokens; "hello there" 11 bytes: 3 tokens; 4 per message.
        XCTAssertEqual(policy.tokenEstimate(systemPrompt: "Be brief.", message: "hello there"), 3 + 4 + 3 + 4 + 512)
        var noReserve = limits
        noReserve.llmOutputReserveTokens = 0
        XCTAssertEqual(RateLimitPolicy(noReserve).tokenEstimate(systemPrompt: "", message: ""), 8)
    }

    func testAdmissionTakesAMessageAndTheEstimateFromUserAndTenantTogether() {
        let policy = RateLimitPolicy(limits)
        let reservation = policy.reservation(user: "u1", tenant: "acme", estimatedTokens: 700)
        XCTAssertEqual(reservation, AdmissionReservation(user: "u1", tenant: "acme", messages: 1, tokens: 700))
        XCTAssertEqual(policy.admission(reservation), [
            RateLimitRequest(rule: policy.rule(.messagesPerUser)!, subject: "u1", cost: 1),
            RateLimitRequest(rule: policy.rule(.llmTokensPerUser)!, subject: "u1", cost: 700),
            RateLimitRequest(rule: policy.rule(.llmTokensPerTenant)!, subject: "acme", cost: 700),
        ])
        XCTAssertEqual(policy.refund(reservation), [
            RateLimitRequest(rule: policy.rule(.messagesPerUser)!, subject: "u1", cost: -1),
            RateLimitRequest(rule: policy.rule(.llmTokensPerUser)!, subject: "u1", cost: -700),
            RateLimitRequest(rule: policy.rule(.llmTokensPerTenant)!, subject: "acme", cost: -700),
        ])
    }

    func testSettlementChargesTheDifferenceToTheRealUsageAndOnlyToTheTokenBuckets() {
        let policy = RateLimitPolicy(limits)
        let reservation = policy.reservation(user: "u1", tenant: "acme", estimatedTokens: 700)
        XCTAssertEqual(policy.settlement(reservation, usedTokens: 2_500), [
            RateLimitRequest(rule: policy.rule(.llmTokensPerUser)!, subject: "u1", cost: 1_800),
            RateLimitRequest(rule: policy.rule(.llmTokensPerTenant)!, subject: "acme", cost: 1_800),
        ])
        XCTAssertEqual(policy.settlement(reservation, usedTokens: 100).map(\.cost), [-600, -600])
        XCTAssertEqual(policy.settlement(reservation, usedTokens: 0).map(\.cost), [-700, -700], "a cached reply costs nothing")
        XCTAssertEqual(policy.settlement(reservation, usedTokens: -5).map(\.cost), [-700, -700])
        XCTAssertEqual(policy.settlement(reservation, usedTokens: 700), [], "nothing to settle")
    }

    func testAReservationThatFailedOpenIsSettledWithTheWholeUsageAndRefundsNothing() {
        let policy = RateLimitPolicy(limits)
        let uncounted = policy.reservation(user: "u1", tenant: "acme", estimatedTokens: 700).uncounted
        XCTAssertEqual(policy.refund(uncounted), [])
        XCTAssertEqual(policy.settlement(uncounted, usedTokens: 900).map(\.cost), [900, 900])
    }

    func testLimitsThatAreOffTakeNothing() {
        var onlyMessages = RateLimits.unlimited
        onlyMessages.messagesPerUser = RateLimits.Rate(perMinute: 5, burst: 1)
        let policy = RateLimitPolicy(onlyMessages)
        let reservation = policy.reservation(user: "u1", tenant: "acme", estimatedTokens: 700)
        XCTAssertEqual(reservation.tokens, 0, "no token limit: nothing reserved or settled")
        XCTAssertEqual(policy.admission(reservation).map(\.rule.name), [.messagesPerUser])
        XCTAssertEqual(policy.settlement(reservation, usedTokens: 5_000), [])

        let none = RateLimitPolicy(.unlimited)
        let free = none.reservation(user: "u1", tenant: "acme", estimatedTokens: 700)
        XCTAssertEqual(free, AdmissionReservation(user: "u1", tenant: "acme", messages: 0, tokens: 0))
        XCTAssertEqual(none.admission(free), [])
        XCTAssertEqual(none.refund(free), [])
    }

    func testABackendFailureFailsOpenOnlyIfEveryLimitAskedDoes() {
        let policy = RateLimitPolicy(limits)
        let reservation = policy.reservation(user: "u1", tenant: "acme", estimatedTokens: 700)
        XCTAssertEqual(RateDecision.failure("down", for: policy.admission(reservation)), .failedClosed(reason: "down"),
                       "LLM tokens fail closed by default, so the message is refused")
        XCTAssertEqual(RateDecision.failure("down", for: policy.connection(from: "10.0.0.7")), .failedOpen(reason: "down"))
        XCTAssertEqual(RateDecision.failure("down", for: []), .failedOpen(reason: "down"))
        var open = limits
        open.failOpen.llmTokens = true
        let openPolicy = RateLimitPolicy(open)
        XCTAssertEqual(RateDecision.failure("down", for: openPolicy.admission(reservation)), .failedOpen(reason: "down"))
    }

    func testDecisionsSayWhetherAndWhatToTellTheClient() {
        XCTAssertTrue(RateDecision.allowed.isAllowed)
        XCTAssertTrue(RateDecision.failedOpen(reason: "x").isAllowed)
        XCTAssertFalse(RateDecision.refused(.messagesPerUser, retryAfterMillis: 5).isAllowed)
        XCTAssertFalse(RateDecision.failedClosed(reason: "x").isAllowed)
        XCTAssertNil(RateDecision.allowed.protocolError)
        XCTAssertNil(RateDecision.failedOpen(reason: "x").protocolError)
        XCTAssertEqual(RateDecision.refused(.messagesPerUser, retryAfterMillis: 5).protocolError,
                       .rateLimited(.messagesPerUser, retryAfterMillis: 5))
        XCTAssertEqual(RateDecision.failedClosed(reason: "Redis down").protocolError?.code, "unavailable",
                       "no limit was reached: the shared backend is down")
        XCTAssertFalse(RateDecision.failedClosed(reason: "Redis down").protocolError!.message.contains("Redis down"),
                       "the backend's reason is for the log, not the client")
    }

    func testBucketsOfDifferentLimitsOrSubjectsAreDistinct() {
        let policy = RateLimitPolicy(limits)
        let reservation = policy.reservation(user: "same", tenant: "same", estimatedTokens: 1)
        let buckets = (policy.admission(reservation) + policy.connection(from: "same")).map(\.bucket)
        XCTAssertEqual(Set(buckets).count, 4, "\(buckets)")
        XCTAssertEqual(Set(RateLimitName.allCases.map(\.rawValue)).count, RateLimitName.allCases.count)
    }
}
