import Synchronization

/// The in-memory `PresenceBackend`. One node by default; nodes built on one shared
/// `MemoryPresence.Cluster` see one roster, which makes it the twin of the Redis backend in the
/// behaviour tests (two nodes, dedup across them) without a Redis. Delivery is synchronous, on
/// the calling thread, under the cluster's lock.
public final class MemoryPresence: PresenceBackend {
    /// The shared state of the nodes built on it.
    public final class Cluster: Sendable {
        struct State {
            var roster = PresenceRoster()
            var sinks: [String: PresenceSink] = [:]
        }

        let state = Mutex(State())

        public init() {}
    }

    public let nodeID: String
    private let cluster: Cluster

    public init(nodeID: String, cluster: Cluster = Cluster()) {
        self.nodeID = nodeID
        self.cluster = cluster
    }

    public func start(delivering sink: @escaping PresenceSink) {
        cluster.state.withLock { $0.sinks[nodeID] = sink }
    }

    public func join(session: String, connection: ConnectionID, user: String, role: String) {
        cluster.state.withLock { state in
            let update = state.roster.add(session: session, tab: tab(connection), user: user, role: role)
            if let update {
                Self.broadcast(update, in: state)
            } else {
                let own = PresenceUpdate(session: session, event: .join, user: user, users: state.roster.users(in: session))
                state.sinks[nodeID]?(PresenceDelivery(update: own, recipients: [connection]))
            }
        }
    }

    public func leave(session: String, connection: ConnectionID) {
        cluster.state.withLock { state in
            if let update = state.roster.remove(session: session, tab: tab(connection)) {
                Self.broadcast(update, in: state)
            }
        }
    }

    public func typing(session: String, connection: ConnectionID) {
        cluster.state.withLock { state in
            if let update = state.roster.typing(session: session, tab: tab(connection)) {
                Self.broadcast(update, in: state)
            }
        }
    }

    public func stop() {
        cluster.state.withLock { state in
            state.sinks[nodeID] = nil
            for update in state.roster.removeNode(nodeID) { Self.broadcast(update, in: state) }
        }
    }

    private func tab(_ connection: ConnectionID) -> PresenceRoster.Tab {
        PresenceRoster.Tab(node: nodeID, connection: connection)
    }

    /// To every node's connections present in the session, each node through its own sink.
    private static func broadcast(_ update: PresenceUpdate, in state: Cluster.State) {
        for (node, sink) in state.sinks.sorted(by: { $0.key < $1.key }) {
            let recipients = state.roster.connections(in: update.session, node: node)
            if !recipients.isEmpty { sink(PresenceDelivery(update: update, recipients: recipients)) }
        }
    }
}
