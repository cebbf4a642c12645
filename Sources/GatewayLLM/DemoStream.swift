import Dispatch
import Foundation
import GatewayCore

/// One running demo reply, paced by a timer on `DemoProvider.queue`.
///
/// @unchecked Sendable: `lock` guards `cancelled`; `emitted` and `startTime` are touched only by
/// timer handlers, which run on the shared serial queue; `timer` is set once before it is resumed
/// (DispatchSource cancellation is thread-safe).
final class DemoStream: ProviderStream, @unchecked Sendable {
    /// Ticks per second at most; faster rates emit several tokens per tick.
    private static let maxTicksPerSecond = 50.0

    private let tokens: [String]
    private let finishReason: String
    private let inputTokens: Int
    private let tokensPerSecond: Double
    private let onEvent: @Sendable (ProviderEvent) -> Void

    private let lock = NSLock()
    private var cancelled = false

    private var timer: DispatchSourceTimer?
    private var emitted = 0
    private var startTime: DispatchTime?

    init(tokens: [String], finishReason: String, inputTokens: Int, tokensPerSecond: Double,
         onEvent: @escaping @Sendable (ProviderEvent) -> Void) {
        self.tokens = tokens
        self.finishReason = finishReason
        self.inputTokens = inputTokens
        self.tokensPerSecond = tokensPerSecond
        self.onEvent = onEvent
    }

    func start(on queue: DispatchQueue) {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let interval = 1 / min(tokensPerSecond, Self.maxTicksPerSecond)
        // The handler keeps `self` alive while the reply runs; cancelling the timer releases it.
        timer.setEventHandler { self.tick() }
        timer.schedule(deadline: .now(), repeating: interval, leeway: .milliseconds(2))
        self.timer = timer
        timer.resume()
    }

    func cancel() {
        lock.withLock { cancelled = true }
        timer?.cancel()
    }

    /// Emits every token due by now (the first at once), so the rate stays exact despite timer jitter.
    private func tick() {
        let now = DispatchTime.now()
        let start = startTime ?? now
        startTime = start
        let elapsed = Double(now.uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        let due = min(tokens.count, Int(elapsed * tokensPerSecond) + 1)
        while emitted < due {
            guard deliver(.text(tokens[emitted])) else { return }
            emitted += 1
        }
        guard emitted == tokens.count else { return }
        timer?.cancel()
        _ = deliver(.usage(TokenUsage(inputTokens: inputTokens, outputTokens: emitted, estimated: false)))
            && deliver(.finished(upstreamReason: finishReason))
    }

    /// False once cancelled: nothing is emitted after `cancel()` returns (bar a delivery already running).
    private func deliver(_ event: ProviderEvent) -> Bool {
        guard !lock.withLock({ cancelled }) else {
            timer?.cancel()
            return false
        }
        onEvent(event)
        return true
    }
}
