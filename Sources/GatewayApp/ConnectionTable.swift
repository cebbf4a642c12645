import GatewayCore
import Synchronization

/// Per-connection protocol state: who the client is, which sessions it joined, and the frames
/// addressed to it alone (welcome, joined, ack, error). Mostly used on the lws service thread; the
/// hello timer reads it from a timer queue, hence one lock for the table.
final class ConnectionTable: Sendable {
    struct Connection {
        var user: String?
        var role = "user"
        var tenant = ConnectionTable.defaultTenant
        /// Joined sessions in join order; delivery takes them round-robin so one busy session does
        /// not starve the others.
        var sessions: [String] = []
        var nextSessionIndex = 0
        var control: [[UInt8]] = []
        var controlHead = 0
        var controlBytes = 0
        /// Frames received and not yet handled: a connection's frames are handled one at a time,
        /// in order, even when one waits for the shared store (so `joined` precedes the `ack` of a
        /// message sent right after the join).
        var requests: [[UInt8]] = []
        var requestHead = 0
        var handlingRequest = false
        /// Set when the connection is refused after it opened (rate limit): the frames queued for
        /// it go out, then this close; what it sends meanwhile is ignored.
        var closeAfterControl: (code: UInt16, reason: String)?
    }

    enum RequestAdmission: Equatable {
        /// Nothing is being handled: the caller handles this frame and then the queue.
        case handleNow
        /// Queued behind the one being handled.
        case queued
        /// Past `maxQueuedRequests` (the client does not wait for answers): close it.
        case overflow
        case closed
    }

    /// Frames a connection may have waiting while one waits for the shared store.
    static let maxQueuedRequests = 256

    enum Outbound {
        case control([UInt8])
        case sessions([String], startingAt: Int)
        case close(code: UInt16, reason: String)
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

    func role(of id: ConnectionID) -> String {
        table.withLock { $0[id]?.role ?? "user" }
    }

    /// Records the hello; false if the connection had already said hello (or is gone).
    func setUser(_ user: String, role: String = "user", tenant: String, for id: ConnectionID) -> Bool {
        table.withLock { table in
            guard table[id] != nil, table[id]!.user == nil else { return false }
            table[id]!.user = user
            table[id]!.role = role
            table[id]!.tenant = tenant
            return true
        }
    }

    /// A frame arrived: handle it now, or after the ones before it.
    func admitRequest(_ text: [UInt8], for id: ConnectionID) -> RequestAdmission {
        table.withLock { table in
            guard table[id] != nil, table[id]!.closeAfterControl == nil else { return .closed }
            if !table[id]!.handlingRequest {
                table[id]!.handlingRequest = true
                table[id]!.requests.append(text)
                return .handleNow
            }
            guard table[id]!.requests.count - table[id]!.requestHead < Self.maxQueuedRequests else { return .overflow }
            table[id]!.requests.append(text)
            return .queued
        }
    }

    /// The next frame to handle; nil (and the connection idle again) when there is none.
    func nextRequest(for id: ConnectionID) -> [UInt8]? {
        withConnection(id) { connection in
            guard connection.requestHead < connection.requests.count else {
                connection.handlingRequest = false
                connection.requests.removeAll(keepingCapacity: false)
                connection.requestHead = 0
                return nil
            }
            let text = connection.requests[connection.requestHead]
            connection.requestHead += 1
            return text
        } ?? nil
    }

    func hasJoined(_ session: String, _ id: ConnectionID) -> Bool {
        table.withLock { $0[id]?.sessions.contains(session) ?? false }
    }

    /// False if the connection is gone (its close already left its sessions: the caller leaves this one).
    @discardableResult
    func addSession(_ session: String, to id: ConnectionID) -> Bool {
        table.withLock { table in
            guard table[id] != nil else { return false }
            if !table[id]!.sessions.contains(session) { table[id]!.sessions.append(session) }
            return true
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

    /// Closes the connection once the frames queued for it so far have gone out (first call wins).
    func closeAfterQueuedFrames(_ id: ConnectionID, code: UInt16, reason: String) {
        table.withLock { table in
            guard table[id] != nil, table[id]!.closeAfterControl == nil else { return }
            table[id]!.closeAfterControl = (code, reason)
        }
    }

    /// What to send next: this connection's own frames first, then session events (the caller asks
    /// the store, starting at the round-robin position), or the close it is due once its own frames
    /// are out.
    func nextOutbound(for id: ConnectionID) -> Outbound? {
        withConnection(id) { connection -> Outbound? in
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
            if let close = connection.closeAfterControl { return .close(code: close.code, reason: close.reason) }
            guard !connection.sessions.isEmpty else { return nil }
            return .sessions(connection.sessions, startingAt: connection.nextSessionIndex % connection.sessions.count)
        } ?? nil
    }

    /// Moves the round-robin position past the session that just sent a frame.
    func advanceRoundRobin(_ id: ConnectionID, after index: Int) {
        withConnection(id) { $0.nextSessionIndex = index + 1 }
    }

    /// `body` on the connection's entry in place, under the lock; nil if it is gone. Copying the
    /// entry out and writing it back (what `var c = table[id]; defer { table[id] = c }` does)
    /// retained and released each of its strings and arrays and hashed the id twice, for every
    /// frame sent.
    private func withConnection<Result>(_ id: ConnectionID, _ body: (inout Connection) -> Result) -> Result? {
        table.withLock { table in
            guard let index = table.index(forKey: id) else { return nil }
            return body(&table.values[index])
        }
    }
}
