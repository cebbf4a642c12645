import GatewayCore

/// The turn coordinator's books: the response cache (look-up at admission, answer at once, store
/// complete replies) and the usage record every turn ends with.
extension TurnCoordinator {
    /// The key covers the model and what its first deployment is asked with; the whole context,
    /// system prompt included, normalized (see `ResponseCacheKey`).
    func cacheKey(model: String, messages: [ChatMessage]) -> ResponseCacheKey {
        var temperature: Double?
        if case .http(_, let http)? = llm.models[model]?.deployments.first?.backend { temperature = http.temperature }
        return ResponseCacheKey(model: model, messages: messages, maxOutputTokens: llm.models[model]?.deployments.first?.maxTokens,
                                temperature: temperature)
    }

    /// A hit streams the stored reply at once, as one delta, and ends the turn; no worker, no cost.
    func serveFromCache(_ reply: CachedReply, job: TurnJob) {
        store.appendDelta(session: job.session, turn: job.turn, text: reply.text)
        let usage = TokenUsage(inputTokens: reply.usage.inputTokens, outputTokens: reply.usage.outputTokens,
                               estimated: reply.usage.estimated, cached: true)
        store.endTurn(session: job.session, turn: job.turn, finish: reply.finish, usage: usage,
                      upstreamFinish: reply.upstreamFinish, error: nil, replyText: reply.text)
        var record = usageRecord(job, usage: usage, finish: reply.finish, error: nil)
        record.cached = true
        record.costUSD = 0
        record.servedModel = job.model
        record.provider = "cache"
        record.timeToFirstTokenMillis = record.totalMillis
        self.usage.record(record)
        limits?.settle(job.reservation, usage: nil)  // no LLM was asked
    }

    func storeInCache(_ run: TurnRun, reply: String, usage: TokenUsage, upstreamFinish: String?) {
        guard let cache, let key = run.job.cacheKey else { return }
        _ = cache.store(CachedReply(text: reply, finish: .stop, upstreamFinish: upstreamFinish, usage: usage), for: key)
    }

    /// The record's common part; `totalMillis` runs to now.
    func usageRecord(_ job: TurnJob, usage: TokenUsage, finish: TurnFinish, error: TurnError?) -> UsageRecord {
        let now = clock()
        var record = UsageRecord(session: job.session, turn: job.turn, user: job.user, tenant: job.tenant, model: job.model,
                                 usage: usage, finish: finish, endedAt: now)
        record.errorCode = error?.code
        record.totalMillis = max(0, now - job.queuedAt)
        return record
    }

    func deploymentConfig(_ deployment: DeploymentRef) -> DeploymentConfig? {
        llm.models[deployment.model]?.deployments.first { $0.id == deployment.deployment }
    }

    /// The usage record of a turn that ran (or waited for) a worker.
    func recordUsage(of run: TurnRun, usage: TokenUsage, finish: TurnFinish, error: TurnError?, deployment: DeploymentRef?,
                 attempts: Int, workerStartedAt: Int) {
        var record = usageRecord(run.job, usage: usage, finish: finish, error: error)
        record.attempts = attempts
        record.queueWaitMillis = max(0, workerStartedAt - run.job.queuedAt)
        if let deployment, let config = deploymentConfig(deployment) {
            record.servedModel = deployment.model
            record.deployment = deployment.deployment
            record.provider = config.provider.rawValue
            record.costUSD = config.price.map { TurnCost.compute(usage: usage, price: $0, cached: false).totalUSD }
        }
        let firstToken = run.firstTokenAt.load(ordering: .relaxed)
        if firstToken > 0 {
            record.timeToFirstTokenMillis = firstToken - run.job.queuedAt
            let streamingMillis = run.lastTokenAt.load(ordering: .relaxed) - firstToken
            if streamingMillis >= 100, usage.outputTokens > 1 {
                record.tokensPerSecond = Double(usage.outputTokens - 1) * 1000 / Double(streamingMillis)
            }
        }
        self.usage.record(record)
    }
}
