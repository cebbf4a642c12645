import Foundation
import GatewayCore
import Synchronization

/// Collects the events of one provider stream (`onEvent` may be called from any thread).
final class ProviderEventRecorder: Sendable {
    private let recorded = Mutex<[ProviderEvent]>([])

    /// Pass this as `startStream`'s `onEvent`.
    var onEvent: @Sendable (ProviderEvent) -> Void {
        { [self] event in recorded.withLock { $0.append(event) } }
    }

    var events: [ProviderEvent] { recorded.withLock { $0 } }

    var texts: [String] {
        events.compactMap { if case let .text(text) = $0 { text } else { nil } }
    }

    var terminals: [ProviderEvent] { events.filter(\.isTerminal) }

    var usages: [TokenUsage] {
        events.compactMap { if case let .usage(usage) = $0 { usage } else { nil } }
    }

    /// The error of a `.failed` terminal, if that is how the stream ended.
    var failure: TurnError? {
        if case let .failed(error)? = events.last { error } else { nil }
    }

    /// Polls until `condition` holds or `timeout` passes; returns whether it held.
    @discardableResult
    func waitUntil(timeout: TimeInterval = 10, _ condition: ([ProviderEvent]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(events) {
            if Date() > deadline { return false }
            usleep(2_000)
        }
        return true
    }

    @discardableResult
    func waitForTerminal(timeout: TimeInterval = 10) -> Bool {
        waitUntil(timeout: timeout) { $0.contains(where: \.isTerminal) }
    }
}
