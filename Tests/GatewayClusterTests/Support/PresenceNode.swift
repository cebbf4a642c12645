import GatewayCore
import RedisTestSupport
import XCTest

/// One node of a presence test: its backend, started with a sink that records every delivery,
/// and what each of its connections got, in order.
final class PresenceNode: Sendable {
    let id: String
    let backend: any PresenceBackend
    private let deliveries = Recorder<PresenceDelivery>()
    /// Whether the node hears the session's events from other nodes yet (Redis confirms a
    /// subscription a little after the join that asked for it).
    private let isListening: @Sendable (String) -> Bool

    init(id: String, backend: any PresenceBackend, isListening: @escaping @Sendable (String) -> Bool = { _ in true }) {
        self.id = id
        self.backend = backend
        self.isListening = isListening
        backend.start { [deliveries] in deliveries.append($0) }
    }

    /// Joins, and waits until the node hears the session's events from other nodes (unless
    /// `listen` is false: it cannot while Redis is down).
    func join(_ session: String, _ connection: UInt64, _ user: String, role: String = "user", listen: Bool = true) {
        backend.join(session: session, connection: ConnectionID(connection), user: user, role: role)
        guard listen else { return }
        let deadline = Date().addingTimeInterval(10)
        while !isListening(session), Date() < deadline { usleep(2_000) }
    }

    func leave(_ session: String, _ connection: UInt64) {
        backend.leave(session: session, connection: ConnectionID(connection))
    }

    func typing(_ session: String, _ connection: UInt64) {
        backend.typing(session: session, connection: ConnectionID(connection))
    }

    /// Every update delivered to `connection` (any session), in delivery order.
    func frames(_ connection: UInt64) -> [PresenceUpdate] {
        frames(ConnectionID(connection), in: deliveries.all)
    }

    /// Waits until `connection` has `count` frames (or `timeout`), then returns them all.
    func waitForFrames(_ connection: UInt64, count: Int, timeout: TimeInterval = 10) -> [PresenceUpdate] {
        let id = ConnectionID(connection)
        deliveries.waitUntil(timeout: timeout) { self.frames(id, in: $0).count >= count }
        return frames(connection)
    }

    /// Waits until the last frame of `connection` satisfies `condition`; returns whether it did.
    @discardableResult
    func waitForLastFrame(_ connection: UInt64, timeout: TimeInterval = 10,
                          _ condition: @escaping (PresenceUpdate) -> Bool) -> Bool {
        let id = ConnectionID(connection)
        return deliveries.waitUntil(timeout: timeout) { self.frames(id, in: $0).last.map(condition) ?? false }
    }

    private func frames(_ connection: ConnectionID, in deliveries: [PresenceDelivery]) -> [PresenceUpdate] {
        deliveries.filter { $0.recipients.contains(connection) }.map(\.update)
    }
}

/// Makes the nodes of one test; both backends' behaviour tests run on one of these.
protocol PresenceNodeFactory {
    func node(_ id: String) throws -> PresenceNode
}

/// In-memory nodes sharing one roster.
struct MemoryPresenceNodes: PresenceNodeFactory {
    let cluster = MemoryPresence.Cluster()

    func node(_ id: String) throws -> PresenceNode {
        PresenceNode(id: id, backend: MemoryPresence(nodeID: id, cluster: cluster))
    }
}
