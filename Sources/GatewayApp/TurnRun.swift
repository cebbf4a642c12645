import GatewayCore
import Synchronization

/// One turn from the moment a worker takes it until its `turn.end`: its attempts (retries and
/// fallbacks), the stream and deployment slot of the current attempt, and what the usage record
/// needs. Fields are guarded by the coordinator's lock, except the atomics, which the token path
/// touches without it.
final class TurnRun: Sendable {
    enum TimerPurpose: Sendable { case none, backoff, watchdog }

    struct Attempt {
        var id: Int
        var deployment: DeploymentRef
        var startedAt: Int
        var stream: (any ProviderStream)?
    }

    /// Guarded by the coordinator's lock.
    struct Guarded {
        var plan: TurnAttempts
        var attempt: Attempt?
        var usage: TokenUsage?
        /// The deployment of the latest attempt, kept after it ends for the usage record.
        var lastDeployment: DeploymentRef?
        /// The messages the latest attempt sent (trimmed to its deployment's context window), for
        /// the input estimate when the upstream reports no usage.
        var sentMessages: [ChatMessage]?
        var timerPurpose = TimerPurpose.none
        var cancelled = false
        var workerStartedAt: Int
    }

    let job: TurnJob
    let timer: TurnTimer
    let guarded: Mutex<Guarded>
    /// The attempt whose events count; events of an earlier attempt are dropped.
    let currentAttempt = Atomic<Int>(0)
    /// Set with the first relayed token: from then on nothing is retried.
    let relayedText = Atomic<Bool>(false)
    let firstTokenAt = Atomic<Int>(0)
    let lastTokenAt = Atomic<Int>(0)
    /// Everything relayed so far: the reply for the transcript, the cache and output estimates.
    /// Kept here, not read back from the store, because a worker node may not mirror the session.
    let relayed = Mutex<String>("")

    init(job: TurnJob, plan: TurnAttempts, now: Int, onTimer: @escaping @Sendable (TurnRun) -> Void) {
        self.job = job
        self.guarded = Mutex(Guarded(plan: plan, workerStartedAt: now))
        var fire: (@Sendable () -> Void)?
        let box = WeakRunBox()
        fire = { if let run = box.run { onTimer(run) } }
        self.timer = TurnTimer(onFire: fire!)
        box.run = self
    }
}

/// Lets the timer reach its run without keeping it alive (the coordinator's table does that).
private final class WeakRunBox: @unchecked Sendable {
    // Written once in TurnRun.init before the timer can fire; read on the timer queue after.
    weak var run: TurnRun?
}
