import Dispatch

/// One re-armable one-shot timer per running turn, for its backoff waits and its first-token and
/// idle watchdog. All turn timers share one serial queue: a firing does a few lock-protected
/// reads and at most one cancel, so one queue serves thousands of turns.
/// Sendable: DispatchSourceTimer is thread-safe; `schedule` and `cancel` may come from any thread.
final class TurnTimer: @unchecked Sendable {
    static let queue = DispatchQueue(label: "chat-gateway.turn-timers", qos: .userInitiated)

    private let source: DispatchSourceTimer

    init(onFire: @escaping @Sendable () -> Void) {
        source = DispatchSource.makeTimerSource(queue: Self.queue)
        source.setEventHandler(handler: onFire)
        source.schedule(deadline: .distantFuture)
        source.resume()
    }

    /// Fires once, `millis` from now (replacing any earlier arming).
    func arm(inMillis millis: Int) {
        source.schedule(deadline: .now() + .milliseconds(max(0, millis)), leeway: .milliseconds(2))
    }

    func disarm() { source.schedule(deadline: .distantFuture) }

    func cancel() { source.cancel() }
}
