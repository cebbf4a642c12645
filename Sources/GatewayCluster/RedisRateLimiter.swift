import Dispatch
import GatewayCore
import GatewayRedis

/// Rate-limit buckets in Redis, shared by every node: `GCRA` in one Lua script per call
/// (`RateLimitScripts`), on Redis's `TIME`, never a node's clock. A bucket is one string key,
/// `PREFIX:rl:LIMIT:SUBJECT` (see `ClusterKeys.rateLimitPrefix`, `RateLimitName`), holding its
/// TAT in µs, with an expiry at that TAT. The keys of one call are used by one script, so on a
/// Redis Cluster they would need one hash slot; the gateway uses a single Redis (or a replicated
/// one) for now.
///
/// When Redis cannot answer (not connected, an error, or no reply within `decisionTimeout`) the
/// check's decision follows the limits' fail-open settings (`RateDecision.failure`), and says so.
/// A check that timed out may still run on Redis later and count: a slow Redis errs towards
/// counting, never towards a second admission.
///
/// Completions run on the client's command thread (keep them short), or on a Dispatch queue
/// when the deadline answers first.
public final class RedisRateLimiter: RateLimiter {
    private let client: RedisClient
    private let keys: ClusterKeys
    private let decisionTimeout: Duration?

    /// `decisionTimeout`: how long a check may wait for Redis before it is decided by the
    /// fail-open settings (nil: the client's own command timeout, 5 s by default, which is long
    /// for a message waiting to be admitted).
    public init(client: RedisClient, keys: ClusterKeys = ClusterKeys(), decisionTimeout: Duration? = .milliseconds(250)) {
        self.client = client
        self.keys = keys
        self.decisionTimeout = decisionTimeout
    }

    /// The Redis key of a request's bucket.
    public func key(of request: RateLimitRequest) -> String { "\(keys.rateLimitPrefix):\(request.bucket)" }

    public func check(_ requests: [RateLimitRequest], completion: @escaping @Sendable (RateDecision) -> Void) {
        guard !requests.isEmpty else { return completion(.allowed) }
        let answer = FirstAnswer(completion)
        armDeadline { answer.deliver(.failure("Redis did not answer within \($0)", for: requests)) }
        let arguments = requests.flatMap { request -> [RedisArgument] in
            [RedisArgument(request.rule.gcra.increment(for: request.cost)), RedisArgument(request.rule.gcra.toleranceMicros)]
        }
        client.evaluate(RateLimitScripts.check, keys: requests.map { RedisArgument(key(of: $0)) }, arguments: arguments) { result in
            answer.deliver(Self.decision(from: result, for: requests))
        }
    }

    public func settle(_ requests: [RateLimitRequest], completion: @escaping @Sendable (RateLimiterFailure?) -> Void) {
        guard !requests.isEmpty else { return completion(nil) }
        let answer = FirstAnswer(completion)
        armDeadline { answer.deliver(RateLimiterFailure(reason: "Redis did not answer within \($0)")) }
        let arguments = requests.map { RedisArgument($0.rule.gcra.increment(for: $0.cost)) }
        client.evaluate(RateLimitScripts.settle, keys: requests.map { RedisArgument(key(of: $0)) }, arguments: arguments) { result in
            switch result {
            case .success(.integer(let written)) where written == requests.count: answer.deliver(nil)
            case .success(let reply): answer.deliver(RateLimiterFailure(reason: "the settle script replied \(reply)"))
            case .failure(let error): answer.deliver(RateLimiterFailure(reason: error.description))
            }
        }
    }

    private func armDeadline(_ expire: @escaping @Sendable (Duration) -> Void) {
        guard let decisionTimeout else { return }
        let (seconds, attoseconds) = decisionTimeout.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { expire(decisionTimeout) }
    }

    /// The check script's reply: {1, 0, 0} allowed, {0, i, wait µs} refused by bucket i.
    static func decision(from result: Result<RedisValue, RedisError>, for requests: [RateLimitRequest]) -> RateDecision {
        let reply: RedisValue
        switch result {
        case .success(let value): reply = value
        case .failure(let error): return .failure(error.description, for: requests)
        }
        let numbers = reply.array?.compactMap(\.integer) ?? []
        guard numbers.count == 3, reply.array?.count == 3 else { return .failure("the check script replied \(reply)", for: requests) }
        let (allowed, index, wait) = (numbers[0], Int(numbers[1]), Int(numbers[2]))
        if allowed == 1 { return .allowed }
        guard allowed == 0, requests.indices.contains(index - 1), wait > 0 else {
            return .failure("the check script replied \(reply)", for: requests)
        }
        return .refused(requests[index - 1].rule.name, retryAfterMillis: GCRA.millisRoundedUp(wait))
    }
}
