import XCTest
@testable import GatewayCore

final class TurnAttemptsTests: XCTestCase {
    private let a1 = DeploymentRef(model: "big", deployment: "big#1")
    private let a2 = DeploymentRef(model: "big", deployment: "big#2")
    private let b1 = DeploymentRef(model: "small", deployment: "small")
    private let start = 1_000_000

    private var policy: RetryPolicy {
        var policy = RetryPolicy()
        policy.budgetMillis = 20_000
        policy.attemptsPerDeployment = 2
        policy.baseBackoffMillis = 200
        policy.maxBackoffMillis = 1_000
        policy.maxRetryAfterMillis = 5_000
        return policy
    }

    private let retryable = TurnError(code: "upstream_http", message: "upstream answered HTTP 503", retry: .allowed(afterMillis: nil))
    private let fatal = TurnError(code: "upstream_http", message: "upstream answered HTTP 401")
    private func all(_: DeploymentRef) -> DeploymentAvailability { .available }

    func testFirstAttemptGoesToTheFirstDeployment() {
        var plan = TurnAttempts(groups: [[a1, a2], [b1]], policy: policy, startedAt: start)
        XCTAssertEqual(plan.next(now: start, availability: all), .start(a1, attempt: 1))
    }

    func testRetryableFailureUsesASiblingAtOnceThenRetriesAfterBackoff() {
        var plan = TurnAttempts(groups: [[a1, a2], [b1]], policy: policy, startedAt: start)
        _ = plan.next(now: start, availability: all)
        plan.failed(a1, error: retryable, now: start + 10, jitter: 0)
        XCTAssertEqual(plan.next(now: start + 10, availability: all), .start(a2, attempt: 2), "a sibling need not wait")
        plan.failed(a2, error: retryable, now: start + 20, jitter: 0)
        // a1's retry (backoff 100..200 ms after its first try) comes before the fallback.
        XCTAssertEqual(plan.next(now: start + 20, availability: all), .wait(millis: 90))
        XCTAssertEqual(plan.next(now: start + 110, availability: all), .start(a1, attempt: 3))
        plan.failed(a1, error: retryable, now: start + 120, jitter: 0)
        XCTAssertEqual(plan.next(now: start + 120, availability: all), .start(a2, attempt: 4), "a2's retry is due")
        plan.failed(a2, error: retryable, now: start + 230, jitter: 0)
        XCTAssertEqual(plan.next(now: start + 230, availability: all), .start(b1, attempt: 5), "then the fallback model")
        plan.failed(b1, error: retryable, now: start + 240, jitter: 0.999)
        guard case .wait(let pause) = plan.next(now: start + 240, availability: all) else { return XCTFail() }
        XCTAssertTrue((100...200).contains(pause), "\(pause)")
        XCTAssertEqual(plan.next(now: start + 240 + pause, availability: all), .start(b1, attempt: 6))
        plan.failed(b1, error: retryable, now: start + 500, jitter: 0)
        XCTAssertEqual(plan.next(now: start + 500, availability: all), .giveUp(retryable))
        XCTAssertEqual(plan.attempts, 6)
    }

    func testNonRetryableFailureMovesOnWithoutRetrying() {
        var plan = TurnAttempts(groups: [[a1], [b1]], policy: policy, startedAt: start)
        _ = plan.next(now: start, availability: all)
        plan.failed(a1, error: fatal, now: start + 5, jitter: 0)
        XCTAssertEqual(plan.next(now: start + 5, availability: all), .start(b1, attempt: 2))
        plan.failed(b1, error: fatal, now: start + 9, jitter: 0)
        XCTAssertEqual(plan.next(now: start + 9, availability: all), .giveUp(fatal))
    }

    func testRetryAfterIsHonouredAndALongOneIsNotWaitedFor() {
        var plan = TurnAttempts(groups: [[a1], [b1]], policy: policy, startedAt: start)
        _ = plan.next(now: start, availability: all)
        let asked = TurnError(code: "upstream_http", message: "429", retry: .allowed(afterMillis: 1_500))
        plan.failed(a1, error: asked, now: start, jitter: 0.5)
        // b1 belongs to a fallback model, which comes after the model's own retries.
        XCTAssertEqual(plan.next(now: start, availability: all), .wait(millis: 1_500))
        XCTAssertEqual(plan.next(now: start + 1_500, availability: all), .start(a1, attempt: 2))

        var impatient = TurnAttempts(groups: [[a1], [b1]], policy: policy, startedAt: start)
        _ = impatient.next(now: start, availability: all)
        impatient.failed(a1, error: TurnError(code: "upstream_http", message: "429", retry: .allowed(afterMillis: 60_000)),
                         now: start, jitter: 0)
        XCTAssertEqual(impatient.next(now: start, availability: all), .start(b1, attempt: 2))
    }

    func testCoolingAndFullDeploymentsArePassedOverForAnAvailableFallback() {
        var plan = TurnAttempts(groups: [[a1, a2], [b1]], policy: policy, startedAt: start)
        let availability: (DeploymentRef) -> DeploymentAvailability = { deployment in
            switch deployment {
            case self.a1: return .coolingDown(untilMillis: self.start + 3_000)
            case self.a2: return .atCapacity
            default: return .available
            }
        }
        XCTAssertEqual(plan.next(now: start, availability: availability), .start(b1, attempt: 1))
    }

    func testNothingAvailableWaitsForTheEarliestAndGivesUpPastTheBudget() {
        var plan = TurnAttempts(groups: [[a1], [b1]], policy: policy, startedAt: start)
        let cooling: (DeploymentRef) -> DeploymentAvailability = { deployment in
            deployment == self.a1 ? .coolingDown(untilMillis: self.start + 4_000) : .coolingDown(untilMillis: self.start + 2_000)
        }
        XCTAssertEqual(plan.next(now: start, availability: cooling), .wait(millis: 2_000))
        let full: (DeploymentRef) -> DeploymentAvailability = { _ in .atCapacity }
        XCTAssertEqual(plan.next(now: start, availability: full), .wait(millis: TurnAttempts.capacityPollMillis))
        let tooLate: (DeploymentRef) -> DeploymentAvailability = { _ in .coolingDown(untilMillis: self.start + 60_000) }
        guard case .giveUp(let error) = plan.next(now: start, availability: tooLate) else { return XCTFail() }
        XCTAssertEqual(error.code, "upstream_unavailable")
    }

    func testBudgetSpentGivesUpWithTheLastErrorAndTheAttemptCount() {
        var plan = TurnAttempts(groups: [[a1]], policy: policy, startedAt: start)
        _ = plan.next(now: start, availability: all)
        plan.failed(a1, error: retryable, now: start + 19_999, jitter: 0)
        guard case .giveUp(let error) = plan.next(now: start + 20_000, availability: all) else { return XCTFail() }
        XCTAssertEqual(error.code, "upstream_http")
        XCTAssertTrue(error.message.contains("retry budget spent after 1 attempt"), error.message)
    }

    func testARetryDueAfterTheBudgetIsNotWaitedFor() {
        var plan = TurnAttempts(groups: [[a1]], policy: policy, startedAt: start)
        _ = plan.next(now: start, availability: all)
        plan.failed(a1, error: TurnError(code: "upstream_http", message: "429", retry: .allowed(afterMillis: 4_000)),
                    now: start + 18_000, jitter: 0)
        XCTAssertEqual(plan.next(now: start + 18_000, availability: all),
                       .giveUp(TurnError(code: "upstream_http", message: "429 (retry budget spent after 1 attempt(s))")))
    }

    func testEmptyGroupsGiveUpAtOnce() {
        var plan = TurnAttempts(groups: [[]], policy: policy, startedAt: start)
        guard case .giveUp(let error) = plan.next(now: start, availability: all) else { return XCTFail() }
        XCTAssertEqual(error.code, "upstream_unavailable")
    }

    func testBackoffGrowsAndIsCapped() {
        let policy = self.policy
        XCTAssertEqual(policy.backoffMillis(afterTries: 1, jitter: 0), 100)
        XCTAssertEqual(policy.backoffMillis(afterTries: 1, jitter: 1), 200)
        XCTAssertEqual(policy.backoffMillis(afterTries: 2, jitter: 1), 400)
        XCTAssertEqual(policy.backoffMillis(afterTries: 3, jitter: 1), 800)
        XCTAssertEqual(policy.backoffMillis(afterTries: 4, jitter: 1), 1_000)
        XCTAssertEqual(policy.backoffMillis(afterTries: 60, jitter: 1), 1_000)
    }

    func testAnAttemptCutAtTheBudgetGivesTheFallbackOneLastAttempt() {
        var plan = TurnAttempts(groups: [[a1, a2], [b1]], policy: policy, startedAt: start)
        XCTAssertEqual(plan.next(now: start, availability: all), .start(a1, attempt: 1))
        XCTAssertTrue(plan.hasFallback(after: a1))
        XCTAssertFalse(plan.hasFallback(after: b1))
        XCTAssertEqual(plan.budgetDeadline, start + 20_000)
        let stalled = TurnError.firstTokenTimeout("no token within the retry budget")
        plan.cutAtBudget(a1, error: stalled)
        XCTAssertEqual(plan.next(now: start + 20_000, availability: all), .start(b1, attempt: 2),
                       "past the budget, but the fallback still gets its one attempt (not a2)")
        plan.failed(b1, error: retryable, now: start + 20_100, jitter: 0)
        guard case .giveUp(let error) = plan.next(now: start + 20_100, availability: all) else { return XCTFail() }
        XCTAssertTrue(error.message.contains("retry budget spent"), error.message)
    }
}
