/// Every Redis key and channel the multi-node mode uses, in one place, so the Lua scripts of the
/// session log, the turn queue, presence and rate limits cannot collide. All names start with
/// the configured prefix (`redis.prefix`, default "cg"), so several gateways can share a Redis
/// database. Session and turn ids are client- or gateway-chosen strings; they go into key names
/// verbatim, which is safe because Redis keys are binary strings.
///
/// Layout (docs/multi-node.md has the reasoning):
/// - `P:s:ID:seq`    string, last seq of the session (INCR in the append scripts, gap-free)
/// - `P:s:ID:log`    stream, one entry per event, entry id `SEQ-1`, field `e` = the wire frame;
///                   trimmed with `MAXLEN ~ sessions.max_events` (it holds at least that many)
/// - `P:s:ID:meta`   hash, only while a turn is active: `turn` its id, `msg` its message id, `model`,
///                   `streamed` 0/1 (a delta went out), `w`/`n` the last delta's writer and number
/// - `P:s:ID:ids`    hash: message id -> "ACK_SEQ ACCEPTED_AT_MS" (duplicate detection)
/// - `P:s:ID:tx`     list of finished transcript entries (a snapshot's `messages` items, JSON),
///                   capped at `sessions.max_transcript_entries`; the active turn's is meta + reply
/// - `P:s:ID:reply`  string, text relayed so far in the active turn
/// - `P:s:ID`        pub/sub channel: every appended event's wire frame
/// - `P:turns`       stream: the work queue (consumer group `workers`); entries `turn TID session ID`
/// - `P:turn:TID`    hash: the queued/owned turn; `session`, `job` and `queued_at` (ms, Redis TIME) are
///                   written with the turn's start, `owner`, `retried` and the rest by the queue;
///                   deleted with the turn's end
/// - `P:leases`      sorted set: turn id -> lease expiry (ms, Redis TIME)
/// - `P:node:NODE`   pub/sub channel: control messages to one node (stop a turn it runs)
/// - `P:p:...`       presence; `P:rl:...` rate limits
/// Every key but the work queue and the lease set has a TTL. The Lua side names the session keys
/// in `SessionLogLua`'s `session_keys`, which a test holds to these.
public struct ClusterKeys: Sendable, Equatable {
    public let prefix: String

    public init(prefix: String = "cg") {
        self.prefix = prefix
    }

    public func sessionSeq(_ session: String) -> String { "\(prefix):s:\(session):seq" }
    public func sessionLog(_ session: String) -> String { "\(prefix):s:\(session):log" }
    public func sessionMeta(_ session: String) -> String { "\(prefix):s:\(session):meta" }
    public func sessionMessageIDs(_ session: String) -> String { "\(prefix):s:\(session):ids" }
    public func sessionTranscript(_ session: String) -> String { "\(prefix):s:\(session):tx" }
    public func sessionReply(_ session: String) -> String { "\(prefix):s:\(session):reply" }
    public func sessionChannel(_ session: String) -> String { "\(prefix):s:\(session)" }

    public var turnQueue: String { "\(prefix):turns" }
    public static let workerGroup = "workers"
    public func turn(_ turn: String) -> String { "\(prefix):turn:\(turn)" }
    public var leases: String { "\(prefix):leases" }
    public func nodeChannel(_ node: String) -> String { "\(prefix):node:\(node)" }

    /// Presence and rate-limit keys start with these; their modules own what follows.
    public var presencePrefix: String { "\(prefix):p" }
    public var rateLimitPrefix: String { "\(prefix):rl" }

    /// The session a `sessionChannel` names, nil for any other channel.
    public func session(ofChannel channel: String) -> String? {
        let head = "\(prefix):s:"
        guard channel.hasPrefix(head) else { return nil }
        let rest = channel.dropFirst(head.count)
        return rest.isEmpty ? nil : String(rest)
    }
}
