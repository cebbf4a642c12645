import GatewayCore
import Synchronization

/// The rate limits as the gateway applies them (`limits` in config, docs/protocol.md
/// `rate_limited`): new connections per address, and per message one check of the user's
/// message bucket and the user's and tenant's token buckets together, reserving the turn's
/// estimate; a message that is then not appended gets it all back, and a turn that ends settles
/// the reservation with its real usage. What each step takes is `RateLimitPolicy`'s; the buckets
/// are the `RateLimiter`'s (this node's memory, or Redis shared by every node).
///
/// A backend that cannot answer is logged when it starts failing and when it recovers, not on
/// every request. Completions run inline (memory) or on the limiter's thread (Redis).
final class AdmissionLimits: Sendable {
    let policy: RateLimitPolicy
    private let limiter: any RateLimiter
    private let systemPrompt: String
    private let failing = Atomic<Bool>(false)

    init(limits: RateLimits, limiter: any RateLimiter, systemPrompt: String) {
        policy = RateLimitPolicy(limits)
        self.limiter = limiter
        self.systemPrompt = systemPrompt
    }

    func admitConnection(from address: String, completion: @escaping @Sendable (RateDecision) -> Void) {
        let requests = policy.connection(from: address)
        guard !requests.isEmpty else { return completion(.allowed) }
        limiter.check(requests) { [self] decision in
            note(decision, of: "connection from \(address)")
            completion(decision)
        }
    }

    /// The reservation is nil when the message is refused; it names nothing counted when the
    /// check failed open.
    func admitMessage(user: String, tenant: String, text: String,
                      completion: @escaping @Sendable (RateDecision, AdmissionReservation?) -> Void) {
        let reservation = policy.reservation(user: user, tenant: tenant,
                                             estimatedTokens: policy.tokenEstimate(systemPrompt: systemPrompt, message: text))
        let requests = policy.admission(reservation)
        guard !requests.isEmpty else { return completion(.allowed, reservation) }
        limiter.check(requests) { [self] decision in
            note(decision, of: "message from user \(user) of tenant \(tenant)")
            switch decision {
            case .allowed: completion(decision, reservation)
            case .failedOpen: completion(decision, reservation.uncounted)
            case .refused, .failedClosed: completion(decision, nil)
            }
        }
    }

    /// The message was admitted by the limits but not appended: nothing of it was used.
    func refund(_ reservation: AdmissionReservation?) {
        guard let reservation else { return }
        settle(policy.refund(reservation), of: "refund for user \(reservation.user)")
    }

    /// The turn ended having used `usage` (nil: nothing, e.g. cancelled while queued or served
    /// from the cache).
    func settle(_ reservation: AdmissionReservation?, usage: TokenUsage?) {
        guard let reservation else { return }
        let used = usage.map { $0.inputTokens + $0.outputTokens } ?? 0
        settle(policy.settlement(reservation, usedTokens: used), of: "settlement for user \(reservation.user)")
    }

    private func settle(_ requests: [RateLimitRequest], of what: String) {
        guard !requests.isEmpty else { return }
        limiter.settle(requests) { [self] failure in
            if let failure {
                startedFailing(failure.reason, what: what)
            } else {
                recovered()
            }
        }
    }

    private func note(_ decision: RateDecision, of what: String) {
        switch decision {
        case .allowed, .refused: recovered()
        case .failedOpen(let reason): startedFailing(reason, what: "\(what) let through uncounted")
        case .failedClosed(let reason): startedFailing(reason, what: "\(what) refused (fail closed)")
        }
    }

    private func startedFailing(_ reason: String, what: String) {
        guard !failing.exchange(true, ordering: .acquiringAndReleasing) else { return }
        Log.warning("rate limits cannot be checked (\(reason)): \(what); until they can, messages "
                    + "\(policy.limits.failOpen.messages ? "pass" : "are refused"), LLM tokens "
                    + "\(policy.limits.failOpen.llmTokens ? "pass" : "are refused"), connections "
                    + "\(policy.limits.failOpen.connections ? "pass" : "are refused")")
    }

    private func recovered() {
        // Read first: the common case (never failed) then writes nothing shared.
        guard failing.load(ordering: .relaxed), failing.exchange(false, ordering: .acquiringAndReleasing) else { return }
        Log.info("rate limits can be checked again")
    }
}
