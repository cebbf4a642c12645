/// The generic cell rate algorithm: a token bucket kept as one number per bucket, the theoretical
/// arrival time (TAT), in microseconds. `rate` units are paid back per `periodMicros`; up to
/// `burst` units may be taken at once from a bucket that has been left alone.
///
/// A bucket with no stored TAT, or one in the past, is full. Taking `cost` units moves the TAT
/// forward by `increment(for: cost)`; a take is allowed when the TAT after it is no further than
/// `toleranceMicros` (the time `burst` units take to pay back) ahead of now. A cost larger than the
/// burst could never pass that test, so it passes with a full bucket and the excess is owed (an
/// LLM request bigger than a minute's tokens still runs once, then its user waits it off).
///
/// Both rate-limiter backends run exactly this: `MemoryRateLimiter` calls it, and
/// `RedisRateLimiter`'s Lua script is its transliteration, with increments computed here (integer
/// arithmetic in Swift, so the script only adds and compares numbers Lua holds exactly).
public struct GCRA: Sendable, Equatable {
    public static let microsPerMinute = 60_000_000
    /// Costs are clamped to this magnitude so that, over a minute's period, `cost × period` and
    /// the TATs it leads to stay below 2^53 (exact as Lua numbers).
    public static let maxCost = 100_000_000
    /// An hour: with `maxCost`, `cost × period` stays far from Int overflow.
    public static let maxPeriodMicros = 3_600_000_000

    public let rate: Int
    public let periodMicros: Int
    public let burst: Int

    public struct Decision: Sendable, Equatable {
        public var allowed: Bool
        /// What to store: the TAT after the take when allowed, the bucket's TAT (at least now) when
        /// refused (nothing needs writing then).
        public var tat: Int
        /// 0 when allowed; else how long until the same take would pass, rounded up.
        public var retryAfterMillis: Int
    }

    public init(rate: Int, periodMicros: Int = GCRA.microsPerMinute, burst: Int) {
        precondition(rate >= 1 && burst >= 1, "GCRA needs a positive rate and burst")
        precondition((1...Self.maxPeriodMicros).contains(periodMicros), "GCRA period must be 1 µs to an hour")
        self.rate = rate
        self.periodMicros = periodMicros
        self.burst = min(burst, Self.maxCost)
    }

    /// The time one unit takes to pay back (rounded down).
    public var emissionIntervalMicros: Int { increment(for: 1) }

    /// How far the TAT may run ahead of now: the time `burst` units take to pay back.
    public var toleranceMicros: Int { increment(for: burst) }

    /// `cost × period / rate`, rounded towards zero, sign kept. Rounding each take down (rather than
    /// rounding the interval once and multiplying) keeps `burst` takes of 1 within the tolerance.
    public func increment(for cost: Int) -> Int {
        let clamped = Int(min(UInt(Self.maxCost), cost.magnitude))
        let micros = clamped * periodMicros / rate
        return cost < 0 ? -micros : micros
    }

    /// Takes `cost` units at `now` from a bucket whose stored TAT is `tat` (nil: none stored).
    /// A negative cost is a refund: always allowed, and the TAT never moves below now (a refund
    /// cannot bank credit beyond a full bucket). A zero cost asks whether the bucket is in debt.
    public func decide(now: Int, tat: Int?, cost: Int) -> Decision {
        let base = max(tat ?? now, now)
        let increment = increment(for: cost)
        guard cost >= 0 else { return Decision(allowed: true, tat: max(now, base + increment), retryAfterMillis: 0) }
        let tolerance = toleranceMicros
        let wait = base + min(increment, tolerance) - tolerance - now
        guard wait <= 0 else { return Decision(allowed: false, tat: base, retryAfterMillis: Self.millisRoundedUp(wait)) }
        return Decision(allowed: true, tat: base + increment, retryAfterMillis: 0)
    }

    /// The TAT after `adjustment` units are added unconditionally (settling a reservation with the
    /// real usage: positive is owed even past the burst, negative is refunded down to now).
    public func settle(now: Int, tat: Int?, adjustment: Int) -> Int {
        max(now, max(tat ?? now, now) + increment(for: adjustment))
    }

    /// How long a stored TAT must be kept, in ms (at least 1): once it has passed, the bucket is
    /// full, which is what no stored TAT means too. Used as the key's expiry.
    public static func keepMillis(tat: Int, now: Int) -> Int {
        max(1, millisRoundedUp(tat - now))
    }

    /// Microseconds as milliseconds, rounded up (a wait of 1 µs is 1 ms, not 0).
    public static func millisRoundedUp(_ micros: Int) -> Int {
        micros <= 0 ? 0 : (micros + 999) / 1000
    }
}
