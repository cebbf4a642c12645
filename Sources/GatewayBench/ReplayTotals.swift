import GatewayCore

/// What one pass over the workload sent and cost. Tokens are the ones billed: what went upstream
/// (a cache hit sends nothing).
public struct ReplayTotals: Sendable, Equatable {
    public var turns = 0
    public var cacheHits = 0
    public var inputTokens = 0
    public var outputTokens = 0
    public var cost = TurnCost.zero
    /// Turns per model chosen (hits included: the model the turn was routed to).
    public var turnsByModel: [String: Int] = [:]
    /// Turns per routing reason.
    public var turnsByReason: [String: Int] = [:]
    /// Turns whose context the trimmer shortened, and what it left out.
    public var trimmedTurns = 0
    public var droppedMessages = 0
    public var droppedTokens = 0
    /// One record per turn, in replay order.
    public var records: [TurnRecord] = []

    public init() {}

    public func share(of model: String) -> Double {
        turns == 0 ? 0 : Double(turnsByModel[model, default: 0]) / Double(turns)
    }

    /// Percent saved against `baseline`'s cost (negative when this pass costs more).
    public func savingPercent(against baseline: ReplayTotals) -> Double {
        baseline.cost.totalUSD == 0 ? 0 : (1 - cost.totalUSD / baseline.cost.totalUSD) * 100
    }
}
