import Foundation

/// Commands from any thread to the command thread, in submission order.
///
/// @unchecked Sendable: `lock` guards `queued` and `closed`; `wakeup` is safe from any thread.
final class RedisCommandInbox: @unchecked Sendable {
    struct Command {
        let arguments: [RedisArgument]
        /// Submission time plus the command timeout: the reply must arrive by then.
        let deadline: ContinuousClock.Instant
        let completion: @Sendable (Result<RedisValue, RedisError>) -> Void

        func complete(_ result: Result<RedisValue, RedisError>) { completion(result) }
    }

    let wakeup = WakeupPipe()
    private let lock = NSLock()
    private var queued: [Command] = []
    private var closed = false

    /// False once closed: the caller completes the command itself.
    func submit(_ command: Command) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return false }
        queued.append(command)
        // Only the first command of a batch needs to wake the thread; it takes the whole batch.
        if queued.count == 1 { wakeup.wake() }
        return true
    }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        wakeup.wake()
    }

    var isClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return closed
    }

    /// Command thread: everything queued, and whether to stop.
    func take() -> (commands: [Command], closing: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let taken = queued
        queued.removeAll(keepingCapacity: true)
        return (taken, closed)
    }
}
