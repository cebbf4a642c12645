import GatewayCore
import Synchronization

/// The presence frames waiting for each connection, in order, at most `perSessionLimit` of one
/// session: past that the oldest of that session is dropped. Every presence frame carries the
/// whole roster, so the newest alone tells a reader who is there; without the bound a join storm in
/// a big session would queue rosters quadratically (and close readers with 4008 over frames nobody
/// needs), which is why these are kept apart from the connection's own frames. Any thread; one lock.
final class PresenceOutbox: Sendable {
    static let defaultPerSessionLimit = 16

    private struct Waiting {
        var frames: [(session: String, frame: [UInt8])] = []
        var perSession: [String: Int] = [:]
    }

    private let waiting = Mutex<[ConnectionID: Waiting]>([:])
    private let perSessionLimit: Int

    init(perSessionLimit: Int = PresenceOutbox.defaultPerSessionLimit) {
        self.perSessionLimit = max(1, perSessionLimit)
    }

    /// Queues `frame` of `session` for each recipient.
    func offer(_ frame: [UInt8], session: String, to recipients: [ConnectionID]) {
        waiting.withLock { waiting in
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
    }

    /// The connection's next presence frame.
    func take(for connection: ConnectionID) -> [UInt8]? {
        waiting.withLock { waiting in
            guard var queue = waiting.removeValue(forKey: connection), !queue.frames.isEmpty else { return nil }
            let next = queue.frames.removeFirst()
            queue.perSession[next.session]! -= 1
            if queue.perSession[next.session] == 0 { queue.perSession[next.session] = nil }
            if !queue.frames.isEmpty { waiting[connection] = queue }
            return next.frame
        }
    }

    /// After a leave: what was waiting for that session is no longer the connection's business.
    func discard(_ connection: ConnectionID, session: String) {
        waiting.withLock { waiting in
            guard var queue = waiting.removeValue(forKey: connection) else { return }
            queue.frames.removeAll { $0.session == session }
            queue.perSession[session] = nil
            if !queue.frames.isEmpty { waiting[connection] = queue }
        }
    }
}
