/// One connection's progress through chat.v1 and what it received, kept by `ChatLoadClient`.
struct SubscriberRecord {
    enum Phase { case connecting, awaitingWelcome, awaitingJoined, joined, closed }

    var phase = Phase.connecting
    /// The log's last seq when we joined: events after it are live.
    var joinedSeq = 0
    var lastSeq = 0
    /// Session events received live (each frame once, merged deltas included).
    var frames = 0
    /// Token deltas covered: a merged delta (`from_seq`) counts for every seq it covers.
    var tokens = 0
    var mergedFrames = 0
    var turnEnds = 0
    /// `usage.output_tokens` summed over this connection's `turn.end`s.
    var reportedTokens = 0
    /// Events whose first seq was beyond lastSeq + 1, or at or below lastSeq.
    var gaps = 0
    var duplicates = 0
    var closedEarly = false
}
