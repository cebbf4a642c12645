/// Everything a client process needs to run its share of a load run, passed as one JSON
/// argument of the hidden `chat-bench __worker` command; and the status lines it answers with.
///
/// The conversation on the worker's pipes, one line each way at a time:
/// worker prints `ready <WorkerStatus>` once its connections joined (or failed, or the ready
/// timeout passed); the coordinator writes `go` (runs with turns: send the messages) and the
/// worker prints `done <WorkerStatus>` when every joined subscriber saw its turn end (or the turn
/// timeout passed); the coordinator writes `finish`, the worker closes everything and prints
/// `tally <ChatLoadTally>`, then exits. End of input counts as `finish`.
struct WorkerPlan: Codable, Equatable {
    var host = "127.0.0.1"
    var port = 8080
    var path = "/v1/ws"
    var subprotocol: String? = "chat.v1"
    var sourceAddress: String?
    var load: ChatLoadPlan
    var connectsPerSecond: Double = 0
    var maxPendingConnects = 256
    var expectedTokensPerTurn: Int?
    /// Turn starts are spread evenly over this window after `go` (0: all at once).
    var staggerMilliseconds: Double = 0
    var readyTimeoutSeconds: Double = 60
    var turnTimeoutSeconds: Double = 60
}

/// A worker's progress, as reported in its `ready` and `done` lines.
struct WorkerStatus: Codable, Equatable {
    var planned: Int
    var joined: Int
    /// Finished (failed or closed) without ever joining.
    var unjoined: Int
    /// Joined subscribers whose turn ended (or that closed first).
    var settled: Int
    /// Connections open at the moment of the report.
    var open: Int
    /// When the report was made (ms since the epoch): a done line's is when the last turn ended.
    var atMilliseconds: Int
}
