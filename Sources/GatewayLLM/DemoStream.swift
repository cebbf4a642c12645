import Dispatch
import Foundation
import GatewayCore

/// One running demo reply, paced by the shared `DemoTicker` on `DemoProvider.queue`.
///
/// @unchecked Sendable: `lock` guards `cancelled`; `emitted`, `startTime` and `nextTick` are
/// touched only by `tick`, which the ticker runs on its serial queue.
final class DemoStream: ProviderStream, @unchecked Sendable {
    /// Ticks per second at most; faster rates emit several tokens per tick.
    private static let maxTicksPerSecond = 50.0

    private let tokens: [String]
    private let finishReason: String
    private let inputTokens: Int
    private let tokensPerSecond: Double
    private let onEvent: @Sendable (ProviderEvent) -> Void
    private let tickNanoseconds: UInt64

    private let lock = NSLock()
    private var cancelled = false

    private var emitted = 0
    private var startTime: UInt64?
    /// When the next tick is due (uptime ns): the first tick's time plus a whole number of intervals.
    private(set) var nextTick: UInt64 = 0

    init(tokens: [String], finishReason: String, inputTokens: Int, tokensPerSecond: Double,
         onEvent: @escaping @Sendable (ProviderEvent) -> Void) {
        self.tokens = tokens
        self.finishReason = finishReason
        self.inputTokens = inputTokens
        self.tokensPerSecond = tokensPerSecond
        self.onEvent = onEvent
        tickNanoseconds = UInt64(1e9 / min(tokensPerSecond, Self.maxTicksPerSecond))
    }

    func cancel() {
        lock.withLock { cancelled = true }
    }

    /// Emits every token due by `now` (the first at once), so the rate stays exact despite timer
    /// jitter. False once the reply is over (ended or cancelled): the ticker drops it.
    func tick(now: UInt64) -> Bool {
        let start = startTime ?? now
        startTime = start
        let elapsedNanoseconds = now - start
        // The microsecond keeps a tick that lands exactly on a token's time from rounding it away.
        let due = min(tokens.count, Int((Double(elapsedNanoseconds) / 1e9 + 1e-6) * tokensPerSecond) + 1)
        while emitted < due {
            guard deliver(.text(tokens[emitted])) else { return false }
            emitted += 1
        }
        guard emitted == tokens.count else {
            nextTick = start + (elapsedNanoseconds / tickNanoseconds + 1) * tickNanoseconds
            return true
        }
        _ = deliver(.usage(TokenUsage(inputTokens: inputTokens, outputTokens: emitted, estimated: false)))
            && deliver(.finished(upstreamReason: finishReason))
        return false
    }

    /// False once cancelled: nothing is emitted after `cancel()` returns (bar a delivery already running).
    private func deliver(_ event: ProviderEvent) -> Bool {
        guard !lock.withLock({ cancelled }) else { return false }
        onEvent(event)
        return true
    }
}
