import Foundation
import Synchronization

/// Collects values from callbacks on other threads (completions, state changes, subscriber
/// events) and lets the test wait for a condition on them.
public final class Recorder<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])

    public init() {}

    public func append(_ value: Value) { values.withLock { $0.append(value) } }

    public var all: [Value] { values.withLock { $0 } }

    /// Polls until `condition` holds or `timeout` passes; returns whether it held.
    @discardableResult
    public func waitUntil(timeout: TimeInterval = 5, _ condition: ([Value]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(all) {
            if Date() > deadline { return false }
            usleep(2_000)
        }
        return true
    }
}
