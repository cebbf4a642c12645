import Synchronization

/// Logs a kind of failure at most once per interval, counting the ones it kept quiet: while Redis
/// is down every token's append fails, and a line per token would bury everything else.
final class ThrottledReport: Sendable {
    private struct State {
        var lastReport: ContinuousClock.Instant?
        var suppressed = 0
    }

    private let interval: Duration
    private let log: @Sendable (String) -> Void
    private let state = Mutex(State())

    init(everyMillis: Int, log: @escaping @Sendable (String) -> Void) {
        interval = .milliseconds(everyMillis)
        self.log = log
    }

    func note(_ line: String) {
        let now = ContinuousClock.now
        let message = state.withLock { state -> String? in
            if let last = state.lastReport, now - last < interval {
                state.suppressed += 1
                return nil
            }
            defer {
                state.lastReport = now
                state.suppressed = 0
            }
            return state.suppressed == 0 ? line : "\(line) (and \(state.suppressed) more since the last report)"
        }
        if let message { log(message) }
    }
}
