import GatewayCore
import Synchronization

/// Replays a workload turn by turn the way the gateway would send it, and adds up what it costs.
/// Each conversation builds its history from the replies it got: on a cache hit the cached reply
/// (what the user would have seen), else the workload's reply or its filler. Input tokens are
/// `TokenEstimator`'s count of the messages actually sent; output tokens are the workload's.
/// Replies are assumed as long on the small model as on the large one.
public struct CostReplay: Sendable {
    /// Which optimizations a pass uses; `naive` is one model, full history, no cache.
    public struct Path: Sendable, Equatable {
        public var name: String
        public var routes: Bool
        public var trims: Bool
        public var caches: Bool

        public static let naive = Path(name: "naive", routes: false, trims: false, caches: false)
        public static let cacheOnly = Path(name: "cache only", routes: false, trims: false, caches: true)
        public static let routingAndTrimming = Path(name: "routing + trimming", routes: true, trims: true, caches: false)
        public static let optimized = Path(name: "optimized", routes: true, trims: true, caches: true)
        public static let all = [naive, cacheOnly, routingAndTrimming, optimized]
    }

    public let config: CostReplayConfig
    public let workload: Workload

    public init(config: CostReplayConfig, workload: Workload) {
        self.config = config
        self.workload = workload
    }

    public func run(_ path: Path) throws -> ReplayTotals {
        let clock = Atomic<Int>(0)
        let cache = path.caches ? MemoryResponseCache(
            maxEntries: config.cache.maxEntries, maxBytes: config.cache.maxBytes,
            defaultTTLMillis: config.cache.ttlSeconds * 1000, now: { clock.load(ordering: .relaxed) }) : nil
        let router = config.routing.router(defaultModel: config.defaultModel)
        var totals = ReplayTotals()

        for conversation in workload.conversations {
            let system = ChatMessage(role: .system, content: workload.systemPrompts[conversation.tenant]!)
            var history: [ChatMessage] = []
            for (index, turn) in conversation.turns.enumerated() {
                let messages = [system] + history + [ChatMessage(role: .user, content: turn.user)]
                let decision = path.routes ? router.route(RoutingInput(messages: messages, tenant: conversation.tenant))
                                           : RoutingDecision(model: config.naiveModel, reason: "naive")
                let model = config.models[decision.model]!
                let sent = path.trims ? try trimmed(messages, for: model, totals: &totals) : messages
                let key = ResponseCacheKey(model: decision.model, messages: sent, maxOutputTokens: model.maxOutputTokens,
                                           temperature: config.temperature)

                totals.turns += 1
                totals.turnsByModel[decision.model, default: 0] += 1
                totals.turnsByReason[decision.reason, default: 0] += 1
                var record = TurnRecord(conversation: conversation.id, turn: index, model: decision.model, reason: decision.reason,
                                        cacheHit: false, inputTokens: 0, outputTokens: 0, costUSD: 0)
                let reply: String
                if let hit = cache?.lookup(key) {
                    totals.cacheHits += 1
                    record.cacheHit = true
                    reply = hit.text
                } else {
                    reply = turn.reply ?? Workload.filler(tokens: turn.replyTokens, conversation: conversation.id, turn: index)
                    let usage = TokenUsage(inputTokens: TokenEstimator.inputTokens(of: sent), outputTokens: turn.replyTokens,
                                           estimated: true)
                    let cost = TurnCost.compute(usage: usage, price: config.prices[decision.model]!, cached: false)
                    totals.inputTokens += usage.inputTokens
                    totals.outputTokens += usage.outputTokens
                    totals.cost += cost
                    (record.inputTokens, record.outputTokens, record.costUSD) = (usage.inputTokens, usage.outputTokens, cost.totalUSD)
                    cache?.store(CachedReply(text: reply, finish: .stop, upstreamFinish: "stop", usage: usage), for: key)
                }
                totals.records.append(record)
                history += [ChatMessage(role: .user, content: turn.user), ChatMessage(role: .assistant, content: reply)]
                clock.add(config.secondsBetweenTurns * 1000, ordering: .relaxed)
            }
        }
        return totals
    }

    private func trimmed(_ messages: [ChatMessage], for model: CostReplayConfig.Model,
                         totals: inout ReplayTotals) throws -> [ChatMessage] {
        let trimmer = ContextTrimmer(contextWindow: model.contextWindow, outputReserve: model.maxOutputTokens)
        let result: TrimmedContext
        do { result = try trimmer.trim(messages) } catch { throw BenchError("cannot fit a turn into the model's context: \(error)") }
        if result.droppedMessages > 0 || result.newestMessageCut {
            totals.trimmedTurns += 1
            totals.droppedMessages += result.droppedMessages
            totals.droppedTokens += result.droppedTokens
        }
        return result.messages
    }
}
