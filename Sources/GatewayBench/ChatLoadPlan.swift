/// Which connections a run opens and what each does, the same for every client process: global
/// connection `g` joins session `g / subscribersPerSession` (so a session's subscribers are
/// consecutive numbers) and, in runs with turns, the first subscriber of each session sends the
/// message that starts its turn. Client process `w` of `P` takes the connections with `g % P == w`,
/// which spreads every session's subscribers over the processes.
struct ChatLoadPlan: Codable, Equatable {
    /// How a connection subscribes.
    enum Flavor: String, Codable {
        /// hello, then join (chat-gateway, lws-ceiling).
        case chatV1
        /// Connecting to `/sub/<session>` is the subscription (nginx + nchan).
        case nchanSubscriber
    }

    /// Unique per run, so sessions of an earlier run (same gateway or not) are never joined.
    var sessionPrefix: String
    var totalConnections: Int
    var subscribersPerSession: Int
    var sendsTurns: Bool
    var flavor = Flavor.chatV1
    var processIndex = 0
    var processCount = 1

    /// Connections this process opens.
    var localCount: Int {
        guard processIndex < totalConnections else { return 0 }
        return (totalConnections - processIndex + processCount - 1) / processCount
    }

    var sessionCount: Int { (totalConnections + subscribersPerSession - 1) / subscribersPerSession }

    func globalIndex(ofLocal local: Int) -> Int { processIndex + local * processCount }

    func session(ofLocal local: Int) -> String { sessionName(globalIndex(ofLocal: local) / subscribersPerSession) }

    /// Session `index` of the run (0..<sessionCount): nchan's channel of the same name.
    func sessionName(_ index: Int) -> String { "\(sessionPrefix)-\(index)" }

    func isSender(_ local: Int) -> Bool { sendsTurns && globalIndex(ofLocal: local) % subscribersPerSession == 0 }

    /// When a sender sends, as a share (0..<1) of the stagger window: sessions evenly spread, the
    /// same in every process.
    func startShare(ofLocal local: Int) -> Double {
        Double(globalIndex(ofLocal: local) / subscribersPerSession) / Double(max(1, sessionCount))
    }

    /// This process's share of the plan.
    func slice(process index: Int, of count: Int) -> ChatLoadPlan {
        var slice = self
        slice.processIndex = index
        slice.processCount = count
        return slice
    }
}
