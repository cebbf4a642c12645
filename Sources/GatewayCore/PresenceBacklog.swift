/// The presence frames waiting for each connection, in order, at most `perSessionBytes` of one
/// session (and always its newest): past that the oldest of that session are dropped. Every
/// presence frame carries the whole roster, so the newest alone tells a reader who is there.
/// Without the bound a join storm in a big session would queue rosters quadratically (and close
/// readers with 4008 over frames nobody needs), which is why these wait apart from a connection's
/// own frames; bounding bytes, not frames, lets small sessions keep every event while a big
/// session's rosters collapse to the latest.
public struct PresenceBacklog: Sendable {
    public static let defaultPerSessionBytes = 64 * 1024

    private struct Waiting {
        var frames: [(session: String, frame: [UInt8])] = []
        /// Per session: frames and bytes waiting.
        var perSession: [String: (count: Int, bytes: Int)] = [:]

        mutating func removeFrame(at index: Int) {
            let (session, frame) = frames.remove(at: index)
            let left = perSession[session]!
            perSession[session] = left.count == 1 ? nil : (left.count - 1, left.bytes - frame.count)
        }
    }

    public let perSessionBytes: Int
    private var waiting: [ConnectionID: Waiting] = [:]

    public init(perSessionBytes: Int = PresenceBacklog.defaultPerSessionBytes) {
        self.perSessionBytes = perSessionBytes
    }

    /// Connections with something waiting.
    public var count: Int { waiting.count }

    /// Queues `frame` of `session` for each recipient.
    public mutating func offer(_ frame: [UInt8], session: String, to recipients: [ConnectionID]) {
        for connection in recipients {
            var queue = waiting.removeValue(forKey: connection) ?? Waiting()
            queue.frames.append((session, frame))
            let before = queue.perSession[session] ?? (0, 0)
            queue.perSession[session] = (before.count + 1, before.bytes + frame.count)
            while let load = queue.perSession[session], load.count > 1, load.bytes > perSessionBytes,
                  let oldest = queue.frames.firstIndex(where: { $0.session == session }) {
                queue.removeFrame(at: oldest)
            }
            waiting[connection] = queue
        }
    }

    /// The connection's next presence frame.
    public mutating func take(for connection: ConnectionID) -> [UInt8]? {
        guard var queue = waiting.removeValue(forKey: connection), !queue.frames.isEmpty else { return nil }
        let next = queue.frames[0].frame
        queue.removeFrame(at: 0)
        if !queue.frames.isEmpty { waiting[connection] = queue }
        return next
    }

    /// After a leave: what was waiting for that session is no longer the connection's business.
    public mutating func discard(_ connection: ConnectionID, session: String) {
        guard var queue = waiting.removeValue(forKey: connection) else { return }
        queue.frames.removeAll { $0.session == session }
        queue.perSession[session] = nil
        if !queue.frames.isEmpty { waiting[connection] = queue }
    }
}
