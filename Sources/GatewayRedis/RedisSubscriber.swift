/// A Redis pub/sub connection: subscribe and unsubscribe from any thread at any time, and get
/// messages and connection events through one callback.
///
/// Threads: the connection belongs to a dedicated thread, separate from any `RedisClient` (a
/// connection in pub/sub mode accepts nothing but subscription commands and PING). Calls here
/// only record the change and wake that thread; `onEvent` runs on it, in order: keep it short.
///
/// The subscriber reconnects by itself and then subscribes to everything again, reporting
/// `.resubscribed` once Redis has confirmed it all; messages published in between are lost.
/// A server that stops answering is noticed by PING (see `RedisSubscriberOptions`).
///
/// Call `shutdown()` before dropping the last reference (deinit does it as a fallback).
public final class RedisSubscriber: Sendable {
    public let endpoint: RedisEndpoint
    private let inbox = RedisSubscriptionInbox()
    private let stateCell: RedisStateCell
    private let thread: RedisThread

    public init(endpoint: RedisEndpoint, options: RedisSubscriberOptions = RedisSubscriberOptions(),
                onEvent: @escaping @Sendable (RedisSubscriberEvent) -> Void) {
        self.endpoint = endpoint
        stateCell = RedisStateCell { onEvent(.stateChanged($0)) }
        let loop = RedisSubscriberLoop(endpoint: endpoint, options: options, inbox: inbox, state: stateCell, emit: onEvent)
        thread = RedisThread(name: options.threadName) { loop.run() }
    }

    /// `url` as described in `RedisEndpoint`.
    public convenience init(url: String, options: RedisSubscriberOptions = RedisSubscriberOptions(),
                            onEvent: @escaping @Sendable (RedisSubscriberEvent) -> Void) throws(RedisEndpointError) {
        self.init(endpoint: try RedisEndpoint(url: url), options: options, onEvent: onEvent)
    }

    deinit { shutdown() }

    public var state: RedisConnectionState { stateCell.current }

    /// Each confirmation arrives as `.subscribed`; until then a message may be missed.
    public func subscribe(channels: [String]) {
        guard !channels.isEmpty else { return }
        inbox.subscribe(channels.map { .channel($0) })
    }

    /// Glob patterns (PSUBSCRIBE): `session:*`, `tenant:?:presence`.
    public func subscribe(patterns: [String]) {
        guard !patterns.isEmpty else { return }
        inbox.subscribe(patterns.map { .pattern($0) })
    }

    public func unsubscribe(channels: [String]) {
        guard !channels.isEmpty else { return }
        inbox.unsubscribe(channels.map { .channel($0) })
    }

    public func unsubscribe(patterns: [String]) {
        guard !patterns.isEmpty else { return }
        inbox.unsubscribe(patterns.map { .pattern($0) })
    }

    /// Closes the connection and waits for the subscriber thread, unless called on it.
    /// Idempotent; the last event is `.stateChanged(.closed)`.
    public func shutdown() {
        inbox.close()
        thread.join()
    }
}
