/// What one turn cost and how it went, written for every turn whatever its end (stopped, failed and
/// cached turns included): the accounting line of the gateway.
public struct UsageRecord: Sendable, Equatable {
    public var session: String
    public var turn: String
    public var user: String
    public var tenant: String
    /// The logical model the turn was routed to.
    public var model: String
    /// The model and deployment that produced the reply (a fallback may differ from `model`); nil
    /// when no attempt started (cancelled in the queue, cache hit, no deployment available).
    public var servedModel: String?
    public var deployment: String?
    public var provider: String?
    public var usage: TokenUsage
    /// Answered from the response cache: no upstream call, no cost.
    public var cached: Bool
    /// USD from the deployment's price table; nil when its price is not configured.
    public var costUSD: Double?
    public var finish: TurnFinish
    public var errorCode: String?
    /// Upstream attempts made (retries and fallbacks included).
    public var attempts: Int
    /// From acceptance to a worker taking the turn.
    public var queueWaitMillis: Int
    /// From acceptance to the first relayed token (what the user waits); nil without one.
    public var timeToFirstTokenMillis: Int?
    /// From acceptance to `turn.end`.
    public var totalMillis: Int
    /// Output tokens over the time from the first to the last token; nil when too short to say.
    public var tokensPerSecond: Double?
    /// When the turn ended, ms since the Unix epoch.
    public var endedAt: Int

    public init(session: String, turn: String, user: String, tenant: String, model: String, usage: TokenUsage,
                finish: TurnFinish, endedAt: Int) {
        self.session = session
        self.turn = turn
        self.user = user
        self.tenant = tenant
        self.model = model
        self.usage = usage
        self.cached = false
        self.finish = finish
        self.attempts = 0
        self.queueWaitMillis = 0
        self.totalMillis = 0
        self.endedAt = endedAt
    }

    /// One JSON object (a line of the usage log).
    public func json() -> [UInt8] {
        var json = JSONWriter(capacity: 384)
        json.beginObject()
        json.field("type", "usage")
        json.field("ts", endedAt)
        json.field("session", session)
        json.field("turn", turn)
        json.field("user", user)
        json.field("tenant", tenant)
        json.field("model", model)
        json.fieldIfPresent("served_model", servedModel)
        json.fieldIfPresent("deployment", deployment)
        json.fieldIfPresent("provider", provider)
        json.field("input_tokens", usage.inputTokens)
        json.field("output_tokens", usage.outputTokens)
        json.field("estimated", usage.estimated)
        json.field("cached", cached)
        json.fieldIfPresent("cost_usd", costUSD)
        json.field("finish", finish.rawValue)
        json.fieldIfPresent("error", errorCode)
        json.field("attempts", attempts)
        json.field("queue_wait_ms", queueWaitMillis)
        json.fieldIfPresent("ttft_ms", timeToFirstTokenMillis)
        json.field("total_ms", totalMillis)
        json.fieldIfPresent("tokens_per_s", tokensPerSecond)
        json.endObject()
        return json.bytes
    }
}
