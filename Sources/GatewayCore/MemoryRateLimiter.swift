import Synchronization

/// Rate-limit buckets in this process: the embedded default, and the twin `RedisRateLimiter` is
/// tested against. One lock for all buckets: a decision is a few dictionary operations.
///
/// A bucket whose TAT has passed is full, the same as an absent one, so such entries are swept
/// out (every so many operations, amortized O(1)). Memory stays bounded when even live buckets
/// outgrow `maxBuckets` (say, a flood of new addresses within a minute): those nearest to full
/// are forgotten first, which only ever errs towards letting a request through.
public final class MemoryRateLimiter: RateLimiter {
    private struct State {
        var tats: [String: Int] = [:]
        var operationsSinceSweep = 0
    }

    public let maxBuckets: Int
    private let clock: @Sendable () -> Int
    private let state = Mutex(State())

    /// `clock`: microseconds, monotonic; any origin.
    public init(maxBuckets: Int = 100_000, clock: @escaping @Sendable () -> Int = MemoryRateLimiter.monotonicMicros) {
        precondition(maxBuckets >= 1)
        self.maxBuckets = maxBuckets
        self.clock = clock
    }

    /// Buckets held, swept or not.
    public var bucketCount: Int { state.withLock { $0.tats.count } }

    /// The stored TAT of a bucket (`RateLimitRequest.bucket`), for tests; nil when none is held.
    public func storedTAT(ofBucket bucket: String) -> Int? { state.withLock { $0.tats[bucket] } }

    public func check(_ requests: [RateLimitRequest], completion: @escaping @Sendable (RateDecision) -> Void) {
        let now = clock()
        let decision: RateDecision = state.withLock { state in
            var newTATs: [(String, Int)] = []
            var refusal: (name: RateLimitName, millis: Int)?
            for request in requests {
                let decision = request.rule.gcra.decide(now: now, tat: state.tats[request.bucket], cost: request.cost)
                if decision.allowed {
                    newTATs.append((request.bucket, decision.tat))
                } else if decision.retryAfterMillis > refusal?.millis ?? -1 {
                    refusal = (request.rule.name, decision.retryAfterMillis)
                }
            }
            defer { sweepIfDue(now: now, in: &state) }
            if let refusal { return .refused(refusal.name, retryAfterMillis: refusal.millis) }
            for (bucket, tat) in newTATs { store(tat, for: bucket, now: now, in: &state) }
            return .allowed
        }
        completion(decision)
    }

    public func settle(_ requests: [RateLimitRequest], completion: @escaping @Sendable (RateLimiterFailure?) -> Void) {
        let now = clock()
        state.withLock { state in
            for request in requests {
                let tat = request.rule.gcra.settle(now: now, tat: state.tats[request.bucket], adjustment: request.cost)
                store(tat, for: request.bucket, now: now, in: &state)
            }
            sweepIfDue(now: now, in: &state)
        }
        completion(nil)
    }

    /// A TAT at or before now is a full bucket: dropped rather than stored (Redis's key would expire).
    private func store(_ tat: Int, for bucket: String, now: Int, in state: inout State) {
        state.tats[bucket] = tat > now ? tat : nil
        if state.tats.count > maxBuckets { sweep(now: now, in: &state) }
    }

    /// A full sweep once there have been as many operations as buckets: amortized O(1) each.
    private func sweepIfDue(now: Int, in state: inout State) {
        state.operationsSinceSweep += 1
        if state.operationsSinceSweep >= max(1024, state.tats.count) { sweep(now: now, in: &state) }
    }

    private func sweep(now: Int, in state: inout State) {
        state.operationsSinceSweep = 0
        state.tats = state.tats.filter { $0.value > now }
        guard state.tats.count > maxBuckets else { return }
        // Keep three quarters, so a steady flood does not sort on every operation.
        let keep = max(1, maxBuckets * 3 / 4)
        let nearestToFull = state.tats.sorted { $0.value < $1.value }.prefix(state.tats.count - keep)
        for (bucket, _) in nearestToFull { state.tats[bucket] = nil }
    }

    private static let origin = ContinuousClock.now

    /// Microseconds since the first call in this process, on the monotonic clock.
    @Sendable public static func monotonicMicros() -> Int {
        let elapsed = origin.duration(to: .now).components
        return Int(elapsed.seconds) * 1_000_000 + Int(elapsed.attoseconds / 1_000_000_000_000)
    }
}
