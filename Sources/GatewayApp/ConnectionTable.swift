import GatewayCore
import Synchronization

/// Per-connection protocol state: who the client is, which sessions it joined, and the frames
/// addressed to it alone (welcome, joined, ack, error). Mostly used on the lws service thread; the
/// hello timer reads it from a timer queue, hence one lock for the table.
final class ConnectionTable: Sendable {
    struct Connection {
        var user: String?
        var tenant = ConnectionTable.defaultTenant
        /// Joined sessions in join order; delivery takes them round-robin so one busy session does
        /// not starve the others.
        var sessions: [String] = []
        var nextSessionIndex = 0
        var control: [[UInt8]] = []
        var controlHead = 0
        var controlBytes = 0
    }

    enum Outbound {
        case control([UInt8])
        case sessions([String], startingAt: Int)
    }

    /// The tenant of clients that name none.
    static let defaultTenant = "default"

    private let table = Mutex<[ConnectionID: Connection]>([:])
    private let controlCapBytes: Int

    init(controlCapBytes: Int) {
        self.controlCapBytes = controlCapBytes
    }

    var count: Int { table.withLock { $0.count } }

    func open(_ id: ConnectionID) {
        table.withLock { $0[id] = Connection() }
    }

    /// Removes the connection; returns the sessions it had joined.
    func close(_ id: ConnectionID) -> [String] {
        table.withLock { $0.removeValue(forKey: id)?.sessions ?? [] }
    }

    func hasOpenConnectionWithoutHello(_ id: ConnectionID) -> Bool {
        table.withLock { $0[id].map { $0.user == nil } ?? false }
    }

    func user(of id: ConnectionID) -> String? {
        table.withLock { $0[id]?.user }
    }

    func tenant(of id: ConnectionID) -> String {
        table.withLock { $0[id]?.tenant ?? Self.defaultTenant }
    }

    /// Records the hello; false if the connection had already said hello (or is gone).
    func setUser(_ user: String, tenant: String, for id: ConnectionID) -> Bool {
        table.withLock { table in
            guard table[id] != nil, table[id]!.user == nil else { return false }
            table[id]!.user = user
            table[id]!.tenant = tenant
            return true
        }
    }

    func hasJoined(_ session: String, _ id: ConnectionID) -> Bool {
        table.withLock { $0[id]?.sessions.contains(session) ?? false }
    }

    func addSession(_ session: String, to id: ConnectionID) {
        table.withLock { table in
            guard table[id] != nil, !table[id]!.sessions.contains(session) else { return }
            table[id]!.sessions.append(session)
        }
    }

    func removeSession(_ session: String, from id: ConnectionID) {
        table.withLock { table in
            table[id]?.sessions.removeAll { $0 == session }
        }
    }

    /// Queues a frame for this connection alone; false if that passed the cap (the caller closes it).
    func enqueue(_ frame: [UInt8], for id: ConnectionID) -> Bool {
        table.withLock { table in
            guard table[id] != nil else { return true }
            table[id]!.control.append(frame)
            table[id]!.controlBytes += frame.count
            return table[id]!.controlBytes <= controlCapBytes
        }
    }

    /// What to send next: this connection's own frames first, then session events (the caller asks
    /// the store, starting at the round-robin position).
    func nextOutbound(for id: ConnectionID) -> Outbound? {
        table.withLock { table in
            guard var connection = table[id] else { return nil }
            defer { table[id] = connection }
            if connection.controlHead < connection.control.count {
                let frame = connection.control[connection.controlHead]
                connection.controlHead += 1
                connection.controlBytes -= frame.count
                if connection.controlHead == connection.control.count {
                    connection.control.removeAll(keepingCapacity: false)
                    connection.controlHead = 0
                }
                return .control(frame)
            }
            guard !connection.sessions.isEmpty else { return nil }
            return .sessions(connection.sessions, startingAt: connection.nextSessionIndex % connection.sessions.count)
        }
    }

    /// Moves the round-robin position past the session that just sent a frame.
    func advanceRoundRobin(_ id: ConnectionID, after index: Int) {
        table.withLock { $0[id]?.nextSessionIndex = index + 1 }
    }
}
