import GatewayCore
import Synchronization

/// Presence on this node: forwards joins, leaves and (throttled) typing to the backend, and turns
/// what the backend delivers into frames for the connections here (`PresenceBacklog`), woken
/// through the server like any other frame. Any thread; a lock each for the backlog and the throttle.
final class PresenceHub: Sendable {
    private let backend: any PresenceBackend
    private let link: ServerLink
    private let backlog = Mutex(PresenceBacklog())
    private let throttle: Mutex<TypingThrottle>
    private let clock: @Sendable () -> Int

    init(backend: any PresenceBackend, link: ServerLink, typingIntervalMillis: Int = TypingThrottle.defaultIntervalMillis,
         clock: @escaping @Sendable () -> Int = WallClock.millis) {
        self.backend = backend
        self.link = link
        throttle = Mutex(TypingThrottle(intervalMillis: typingIntervalMillis))
        self.clock = clock
    }

    func start() {
        // The sink runs under the backend's lock: encode once, queue, wake; nothing that calls back.
        backend.start { [weak self] delivery in
            guard let self else { return }
            let frame = ServerFrame.presence(delivery.update).encode()
            backlog.withLock { $0.offer(frame, session: delivery.update.session, to: delivery.recipients) }
            link.deliver(Fanout(wake: delivery.recipients))
        }
    }

    /// Takes this node's connections out of every session (the others see them leave).
    func stop() {
        backend.stop()
    }

    /// After `joined` was queued: the connection gets its roster next, the others the join.
    func join(session: String, connection: ConnectionID, user: String, role: String) {
        backend.join(session: session, connection: connection, user: user, role: role)
    }

    /// A `leave` frame or the connection closing.
    func leave(session: String, connection: ConnectionID) {
        backend.leave(session: session, connection: connection)
        backlog.withLock { $0.discard(connection, session: session) }
        throttle.withLock { $0.forget(session: session, connection: connection) }
    }

    /// At most one typing per connection and session per interval reaches the backend.
    func typing(session: String, connection: ConnectionID) {
        let now = clock()
        guard throttle.withLock({ $0.allow(session: session, connection: connection, now: now) }) else { return }
        backend.typing(session: session, connection: connection)
    }

    func nextFrame(for connection: ConnectionID) -> [UInt8]? {
        backlog.withLock { $0.take(for: connection) }
    }
}
