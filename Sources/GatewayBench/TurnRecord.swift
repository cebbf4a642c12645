/// How one turn went, for reading a replay back (`turn_log` in the results).
public struct TurnRecord: Sendable, Equatable {
    public var conversation: String
    public var turn: Int
    public var model: String
    public var reason: String
    public var cacheHit: Bool
    public var inputTokens: Int
    public var outputTokens: Int
    public var costUSD: Double
}
