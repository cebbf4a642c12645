import Foundation

/// A connection's current state, readable from any thread, and its change callback.
///
/// @unchecked Sendable: `lock` guards `state`; `onChange` is immutable. Only the connection's
/// own thread calls `update`, so callbacks arrive in the order the changes happened.
final class RedisStateCell: @unchecked Sendable {
    private let lock = NSLock()
    private var state: RedisConnectionState = .connecting
    private let onChange: (@Sendable (RedisConnectionState) -> Void)?

    init(onChange: (@Sendable (RedisConnectionState) -> Void)?) {
        self.onChange = onChange
    }

    var current: RedisConnectionState {
        lock.lock()
        defer { lock.unlock() }
        return state
    }

    /// Connection thread: records `newState` and reports it if it differs; the callback runs
    /// outside the lock, so it may read `current`.
    func update(_ newState: RedisConnectionState) {
        lock.lock()
        let changed = state != newState
        state = newState
        lock.unlock()
        if changed { onChange?(newState) }
    }
}
