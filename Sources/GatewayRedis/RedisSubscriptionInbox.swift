import Foundation

/// Subscription changes from any thread to the subscriber thread, and the set of everything
/// subscribed, which a new connection subscribes to in full.
///
/// @unchecked Sendable: `lock` guards `channels`, `patterns`, `changes` and `closed`; `wakeup`
/// is safe from any thread.
final class RedisSubscriptionInbox: @unchecked Sendable {
    enum Change {
        case subscribe([RedisSubscription])
        case unsubscribe([RedisSubscription])
    }

    let wakeup = WakeupPipe()
    private let lock = NSLock()
    private var channels: Set<String> = []
    private var patterns: Set<String> = []
    private var changes: [Change] = []
    private var closed = false

    func subscribe(_ subscriptions: [RedisSubscription]) {
        update(.subscribe(subscriptions)) { subscription in
            switch subscription {
            case let .channel(name): channels.insert(name)
            case let .pattern(glob): patterns.insert(glob)
            }
        }
    }

    func unsubscribe(_ subscriptions: [RedisSubscription]) {
        update(.unsubscribe(subscriptions)) { subscription in
            switch subscription {
            case let .channel(name): channels.remove(name)
            case let .pattern(glob): patterns.remove(glob)
            }
        }
    }

    private func update(_ change: Change, applying apply: (RedisSubscription) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        switch change {
        case let .subscribe(subscriptions), let .unsubscribe(subscriptions): subscriptions.forEach(apply)
        }
        changes.append(change)
        wakeup.wake()
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

    /// Subscriber thread, on a live connection: the changes since the last look.
    func takeChanges() -> (changes: [Change], closing: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let taken = changes
        changes.removeAll()
        return (taken, closed)
    }

    /// Subscriber thread, on a new connection: everything subscribed now. Pending changes are
    /// dropped in the same step, since the snapshot already includes them.
    func takeEverything() -> [RedisSubscription] {
        lock.lock()
        defer { lock.unlock() }
        changes.removeAll()
        return channels.sorted().map { .channel($0) } + patterns.sorted().map { .pattern($0) }
    }
}
