/// What one client process saw over a run, summed over its connections; the coordinator adds up
/// the tallies of every process. Counts of session events are of live events only (after join).
struct ChatLoadTally: Codable, Equatable {
    var planned = 0
    var opened = 0
    var joined = 0
    /// Never came up (TCP connect or upgrade failed), with the first reason seen.
    var failed = 0
    var firstFailure: String?
    /// Joined, then closed or dropped by the server before the run ended.
    var closedEarly = 0
    var frames = 0
    var tokens = 0
    var mergedFrames = 0
    var turnEnds = 0
    var reportedTokens = 0
    var gaps = 0
    var duplicates = 0
    /// Joined subscribers that got a whole turn: a `turn.end`, no gap, no duplicate, and as many
    /// tokens as `usage.output_tokens` says (and as the plan expected, when it knows).
    var completeSubscribers = 0
    var acks = 0
    var errors: [String: Int] = [:]
    /// Event latency, `now - ts` in µs. Servers round `ts` to the nearest ms, so each value is within
    /// ±0.5 ms of the truth; one that comes out negative is recorded as 0.
    var latency = LatencyHistogram()
    /// Token latency, `now - stamp` in µs, for tokens whose text carries the time it was written
    /// upstream (`@<µs>`: the benchmark's HTTP upstream, nchan's publisher): exact to the µs, and
    /// for an upstream it covers the whole way through the gateway, libcurl and parsing included.
    var tokenLatency = LatencyHistogram()
    /// When the first connection attempt started, the last join arrived, the last event arrived.
    var firstConnectMilliseconds: Int?
    var lastJoinedMilliseconds: Int?
    var lastEventMilliseconds: Int?

    mutating func add(_ other: ChatLoadTally) {
        planned += other.planned
        opened += other.opened
        joined += other.joined
        failed += other.failed
        firstFailure = firstFailure ?? other.firstFailure
        closedEarly += other.closedEarly
        frames += other.frames
        tokens += other.tokens
        mergedFrames += other.mergedFrames
        turnEnds += other.turnEnds
        reportedTokens += other.reportedTokens
        gaps += other.gaps
        duplicates += other.duplicates
        completeSubscribers += other.completeSubscribers
        acks += other.acks
        errors.merge(other.errors, uniquingKeysWith: +)
        latency.merge(other.latency)
        tokenLatency.merge(other.tokenLatency)
        firstConnectMilliseconds = Self.earliest(firstConnectMilliseconds, other.firstConnectMilliseconds)
        lastJoinedMilliseconds = Self.latest(lastJoinedMilliseconds, other.lastJoinedMilliseconds)
        lastEventMilliseconds = Self.latest(lastEventMilliseconds, other.lastEventMilliseconds)
    }

    private static func earliest(_ a: Int?, _ b: Int?) -> Int? { [a, b].compactMap { $0 }.min() }
    private static func latest(_ a: Int?, _ b: Int?) -> Int? { [a, b].compactMap { $0 }.max() }
}
