/// The presence frames waiting for each connection, in order, at most `perSessionLimit` of one
/// session: past that the oldest of that session is dropped. Every presence frame carries the
/// whole roster, so the newest alone tells a reader who is there; without the bound a join storm in
/// a big session would queue rosters quadratically (and close readers with 4008 over frames nobody
/// needs), which is why these wait apart from a connection's own frames.
public struct PresenceBacklog: Sendable {
    public static let defaultPerSessionLimit = 16

    private struct Waiting {
        var frames: [(session: String, frame: [UInt8])] = []
        var perSession: [String: Int] = [:]
    }

    public let perSessionLimit: Int
    private var waiting: [ConnectionID: Waiting] = [:]

    public init(perSessionLimit: Int = PresenceBacklog.defaultPerSessionLimit) {
        self.perSessionLimit = max(1, perSessionLimit)
    }

    /// Connections with something waiting.
    public var count: Int { waiting.count }

    /// Queues `frame` of `session` for each recipient.
    public mutating func offer(_ frame: [UInt8], session: String, to recipients: [ConnectionID]) {
        for connection in recipients {
            var queue = waiting.removeValue(forKey: connection) ?? Waiting()
            if queue.perSession[session, default: 0] >= perSessionLimit,
               let oldest = queue.frames.firstIndex(where: { $0.session == session }) {
                queue.frames.remove(at: oldest)
                queue.perSession[session]! -= 1
            }
            queue.frames.append((session, frame))
            queue.perSession[session, default: 0] += 1
            waiting[connection] = queue
        }
    }

    /// The connection's next presence frame.
    public mutating func take(for connection: ConnectionID) -> [UInt8]? {
        guard var queue = waiting.removeValue(forKey: connection), !queue.frames.isEmpty else { return nil }
        let next = queue.frames.removeFirst()
        queue.perSession[next.session]! -= 1
        if queue.perSession[next.session] == 0 { queue.perSession[next.session] = nil }
        if !queue.frames.isEmpty { waiting[connection] = queue }
        return next.frame
    }

    /// After a leave: what was waiting for that session is no longer the connection's business.
    public mutating func discard(_ connection: ConnectionID, session: String) {
        guard var queue = waiting.removeValue(forKey: connection) else { return }
        queue.frames.removeAll { $0.session == session }
        queue.perSession[session] = nil
        if !queue.frames.isEmpty { waiting[connection] = queue }
    }
}
