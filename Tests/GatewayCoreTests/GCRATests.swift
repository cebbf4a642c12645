import XCTest
@testable import GatewayCore

/// `GCRA`: a bucket of `burst` units paid back at `rate` per period, kept as one TAT (µs). Times
/// here are plain numbers handed to `decide`: no clock is read.
final class GCRATests: XCTestCase {
    private let start = 1_700_000_000_000_000

    /// 20 a minute: one unit every 3 s; a burst of 10 is 30 s of tolerance.
    private let messages = GCRA(rate: 20, burst: 10)

    func testIntervalAndToleranceFollowRateAndBurst() {
        XCTAssertEqual(messages.emissionIntervalMicros, 3_000_000)
        XCTAssertEqual(messages.toleranceMicros, 30_000_000)
        XCTAssertEqual(messages.increment(for: 4), 12_000_000)
        XCTAssertEqual(messages.increment(for: -4), -12_000_000)
        XCTAssertEqual(messages.increment(for: 0), 0)
        let perSecond = GCRA(rate: 5, periodMicros: 1_000_000, burst: 1)
        XCTAssertEqual(perSecond.emissionIntervalMicros, 200_000)
        XCTAssertEqual(perSecond.toleranceMicros, 200_000)
    }

    /// 7 a minute is 8,571,428.57 µs a unit: each take rounds down on its own, so the burst's
    /// tolerance (7 units, rounded once) holds 7 takes of 1, and 7 a minute stay 7 a minute.
    func testARateThatDoesNotDivideTheMinuteStillAdmitsItsBurstAndItsRate() {
        let gcra = GCRA(rate: 7, burst: 7)
        XCTAssertEqual(gcra.emissionIntervalMicros, 8_571_428)
        XCTAssertEqual(gcra.toleranceMicros, 60_000_000)
        XCTAssertEqual(gcra.increment(for: 7), 60_000_000, "not 7 × the rounded interval (59,999,996)")
        XCTAssertEqual(admittedAtOnce(gcra, cost: 1, now: start), 7)
        XCTAssertEqual(admitted(gcra, everyMicros: 1_000, for: 10 * GCRA.microsPerMinute), 7 + 70)
    }

    func testAFullBucketAdmitsExactlyTheBurstThenRefusesUntilOneIntervalPasses() {
        var tat: Int?
        for take in 1...10 {
            let decision = messages.decide(now: start, tat: tat, cost: 1)
            XCTAssertTrue(decision.allowed, "take \(take)")
            XCTAssertEqual(decision.tat, start + take * 3_000_000)
            XCTAssertEqual(decision.retryAfterMillis, 0)
            tat = decision.tat
        }
        let refused = messages.decide(now: start, tat: tat, cost: 1)
        XCTAssertFalse(refused.allowed)
        XCTAssertEqual(refused.tat, tat, "a refusal leaves the TAT as it was")
        XCTAssertEqual(refused.retryAfterMillis, 3_000)

        XCTAssertFalse(messages.decide(now: start + 2_999_999, tat: tat, cost: 1).allowed)
        XCTAssertEqual(messages.decide(now: start + 2_999_999, tat: tat, cost: 1).retryAfterMillis, 1, "1 µs is 1 ms, rounded up")
        let later = messages.decide(now: start + 3_000_000, tat: tat, cost: 1)
        XCTAssertTrue(later.allowed)
        XCTAssertEqual(later.tat, start + 33_000_000)
    }

    func testRetryAfterIsWhenTheSameTakeWouldPass() {
        var tat: Int?
        for _ in 1...10 { tat = messages.decide(now: start, tat: tat, cost: 1).tat }
        let refusal = messages.decide(now: start, tat: tat, cost: 3)
        XCTAssertEqual(refusal.retryAfterMillis, 9_000)
        XCTAssertFalse(messages.decide(now: start + 8_999_000, tat: tat, cost: 3).allowed)
        XCTAssertTrue(messages.decide(now: start + 9_000_000, tat: tat, cost: 3).allowed)
    }

    func testATATInThePastIsAFullBucket() {
        let stale = start - 3_600_000_000
        XCTAssertEqual(messages.decide(now: start, tat: stale, cost: 1), messages.decide(now: start, tat: nil, cost: 1))
        XCTAssertEqual(admittedAtOnce(messages, cost: 1, now: start, tat: stale), 10)
        XCTAssertEqual(messages.decide(now: start, tat: stale, cost: 1).tat, start + 3_000_000)
    }

    func testPartlyDrainedBucketsRefillAtTheRate() {
        var tat: Int?
        for _ in 1...10 { tat = messages.decide(now: start, tat: tat, cost: 1).tat }
        // 15 s later, 5 units have been paid back.
        XCTAssertEqual(admittedAtOnce(messages, cost: 1, now: start + 15_000_000, tat: tat), 5)
    }

    /// Attempts every 100 ms for ten minutes from a full bucket: the burst, then one per interval.
    func testOverTimeTheAdmittedCountIsTheBurstPlusTheRate() {
        XCTAssertEqual(admitted(messages, everyMicros: 100_000, for: 10 * GCRA.microsPerMinute), 10 + 200)
        let tokens = GCRA(rate: 40_000, burst: 40_000)
        XCTAssertEqual(admitted(tokens, cost: 500, everyMicros: 10_000, for: 5 * GCRA.microsPerMinute) * 500,
                       40_000 + 5 * 40_000)
    }

    func testACostAboveTheBurstPassesOnlyWithAFullBucketAndIsOwed() {
        let tokens = GCRA(rate: 1_000, burst: 1_000)  // 60 ms a token
        let big = tokens.decide(now: start, tat: nil, cost: 3_000)
        XCTAssertTrue(big.allowed)
        XCTAssertEqual(big.tat, start + 180_000_000, "three minutes owed")
        let next = tokens.decide(now: start, tat: big.tat, cost: 1)
        XCTAssertFalse(next.allowed)
        XCTAssertEqual(next.retryAfterMillis, 120_060, "two minutes of debt, then one token's interval")

        let oneTaken = tokens.decide(now: start, tat: nil, cost: 1).tat
        XCTAssertFalse(tokens.decide(now: start, tat: oneTaken, cost: 3_000).allowed, "only with a full bucket")
        XCTAssertEqual(tokens.decide(now: start, tat: oneTaken, cost: 3_000).retryAfterMillis, 60)
        XCTAssertTrue(tokens.decide(now: start + 60_000, tat: oneTaken, cost: 3_000).allowed, "full again")
    }

    func testARefundGivesBackRoomButNeverMovesTheTATBelowNow() {
        var tat: Int?
        for _ in 1...10 { tat = messages.decide(now: start, tat: tat, cost: 1).tat }
        let refund = messages.decide(now: start, tat: tat, cost: -2)
        XCTAssertTrue(refund.allowed)
        XCTAssertEqual(refund.tat, start + 24_000_000)
        XCTAssertEqual(admittedAtOnce(messages, cost: 1, now: start, tat: refund.tat), 2)

        let overRefund = messages.decide(now: start, tat: start + 3_000_000, cost: -5)
        XCTAssertEqual(overRefund.tat, start, "no credit beyond a full bucket")
        XCTAssertEqual(admittedAtOnce(messages, cost: 1, now: start, tat: overRefund.tat), 10)
        XCTAssertEqual(messages.decide(now: start, tat: nil, cost: -1).tat, start)
        XCTAssertEqual(messages.decide(now: start, tat: start - 9_000_000, cost: -1).tat, start)
    }

    func testAZeroCostAsksWhetherTheBucketIsInDebtAndChangesNothing() {
        let tokens = GCRA(rate: 1_000, burst: 1_000)
        XCTAssertEqual(tokens.decide(now: start, tat: nil, cost: 0), GCRA.Decision(allowed: true, tat: start, retryAfterMillis: 0))
        let full = start + tokens.toleranceMicros
        XCTAssertEqual(tokens.decide(now: start, tat: full, cost: 0), GCRA.Decision(allowed: true, tat: full, retryAfterMillis: 0))
        let owing = full + 5_000_000
        XCTAssertEqual(tokens.decide(now: start, tat: owing, cost: 0),
                       GCRA.Decision(allowed: false, tat: owing, retryAfterMillis: 5_000))
    }

    func testSettleIsUnconditional() {
        let tokens = GCRA(rate: 1_000, burst: 1_000)
        let tat = start + tokens.toleranceMicros
        XCTAssertEqual(tokens.settle(now: start, tat: tat, adjustment: 500), tat + 30_000_000, "owed past the burst")
        XCTAssertEqual(tokens.settle(now: start, tat: nil, adjustment: 500), start + 30_000_000)
        XCTAssertEqual(tokens.settle(now: start, tat: tat, adjustment: -400), tat - 24_000_000)
        XCTAssertEqual(tokens.settle(now: start, tat: tat, adjustment: -5_000), start, "never below a full bucket")
        XCTAssertEqual(tokens.settle(now: start, tat: start - 1, adjustment: 0), start)
    }

    func testCostsAndBurstsAreClamped() {
        let gcra = GCRA(rate: 60, burst: Int.max)
        XCTAssertEqual(gcra.burst, GCRA.maxCost)
        XCTAssertEqual(gcra.increment(for: Int.max), gcra.increment(for: GCRA.maxCost))
        XCTAssertEqual(gcra.increment(for: Int.min), -gcra.increment(for: GCRA.maxCost))
        let slowest = GCRA(rate: 1, burst: 1)
        XCTAssertLessThan(start + slowest.increment(for: GCRA.maxCost), 1 << 53, "the largest debt is exact as a Lua number")
    }

    func testKeysAreKeptUntilTheTATPassesAndAtLeastAMillisecond() {
        XCTAssertEqual(GCRA.keepMillis(tat: start + 3_000_000, now: start), 3_000)
        XCTAssertEqual(GCRA.keepMillis(tat: start + 1, now: start), 1)
        XCTAssertEqual(GCRA.keepMillis(tat: start + 1_001, now: start), 2)
        XCTAssertEqual(GCRA.keepMillis(tat: start, now: start), 1)
        XCTAssertEqual(GCRA.keepMillis(tat: start - 50, now: start), 1)
    }

    /// Random takes, refunds and settles against a reference bucket kept as a fraction of units
    /// (no rounding: the rate divides the period): the same decisions, and never more admitted
    /// than the burst plus what was paid back.
    func testRandomScheduleAgreesWithAReferenceBucket() {
        var generator = SplitMix(seed: 42)
        for _ in 0..<50 {
            let rate = [1, 6, 20, 60, 600][Int(generator.next() % 5)]
            let burst = Int(generator.next() % 20) + 1
            let gcra = GCRA(rate: rate, burst: burst)
            let unit = GCRA.microsPerMinute / rate
            var tat: Int?
            var now = start
            var owedMicros = 0  // reference: time until the bucket is full again
            var lastNow = now
            for _ in 0..<300 {
                now += Int(generator.next() % UInt64(3 * unit))
                owedMicros = max(0, owedMicros - (now - lastNow))
                lastNow = now
                let cost = Int(generator.next() % UInt64(burst + 2)) - (generator.next() % 5 == 0 ? burst : 0)
                let decision = gcra.decide(now: now, tat: tat, cost: cost)
                if cost < 0 {
                    owedMicros = max(0, owedMicros + cost * unit)
                    XCTAssertTrue(decision.allowed)
                } else {
                    let fits = owedMicros + min(cost, burst) * unit <= burst * unit
                    XCTAssertEqual(decision.allowed, fits, "rate \(rate) burst \(burst) cost \(cost) owed \(owedMicros)")
                    if fits { owedMicros += cost * unit }
                }
                XCTAssertEqual(decision.tat, now + owedMicros)
                tat = decision.tat
            }
        }
    }

    // MARK: - Helpers

    private func admittedAtOnce(_ gcra: GCRA, cost: Int, now: Int, tat start: Int? = nil) -> Int {
        var tat = start
        var count = 0
        while count < 10_000 {
            let decision = gcra.decide(now: now, tat: tat, cost: cost)
            guard decision.allowed else { break }
            tat = decision.tat
            count += 1
        }
        return count
    }

    /// Takes tried every `everyMicros` over `duration` (both ends included) from a full bucket.
    private func admitted(_ gcra: GCRA, cost: Int = 1, everyMicros: Int, for duration: Int) -> Int {
        var tat: Int?
        var count = 0
        for now in stride(from: start, through: start + duration, by: everyMicros) {
            let decision = gcra.decide(now: now, tat: tat, cost: cost)
            if decision.allowed {
                tat = decision.tat
                count += 1
            }
        }
        return count
    }
}

/// A small deterministic generator, so a failing random schedule is the same on every run.
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
