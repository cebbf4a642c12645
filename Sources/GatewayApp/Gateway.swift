import Dispatch
import Foundation
import GatewayCluster
import GatewayCore
import GatewayLLM
import GatewayWebSocket

/// The running gateway: builds every part from the config, starts them in order (state, workers,
/// WebSocket server) and stops them in reverse, so no client sees a half-built or half-torn node.
///
/// `@unchecked Sendable`: every property is immutable; the one non-Sendable one, `sweeper`, is a
/// Dispatch timer, which is itself thread-safe, and only `start()`/`stop()` touch it.
public final class Gateway: @unchecked Sendable {
    public let config: GatewayConfig
    public let nodeID: String
    private let health: HealthReporter
    private let providers: ProviderSet
    private let turns: TurnCoordinator
    private let server: WebSocketServer
    private let store: any SessionStore
    /// Redis mode's backends; nil in the embedded (memory) mode.
    private let cluster: ClusterBackends?
    private let sweeper: DispatchSourceTimer
    private let usage: UsageRecorder
    private let presence: PresenceHub

    /// `workerOnly`: `chat-gateway worker`, a node that runs turns from the shared queue and serves
    /// health, but takes no WebSocket clients (Redis mode only).
    public init(config: GatewayConfig, environment: [String: String], workerOnly: Bool = false) throws {
        self.config = config
        nodeID = config.nodeID ?? Identifiers.node()
        if workerOnly, config.redis.url == nil {
            throw ConfigError(key: "redis.url", problem: "chat-gateway worker needs Redis (redis.url or CHAT_GATEWAY_REDIS_URL)")
        }
        if workerOnly, config.workers.concurrency == 0 {
            // The config allows 0 for a node that takes clients; a worker-only one would run nothing.
            throw ConfigError(key: "workers.concurrency", problem: "is 0: a chat-gateway worker with no worker slots would run nothing")
        }
        cluster = config.redis.url == nil ? nil : try ClusterBackends(config: config, nodeID: nodeID)
        if let cluster {
            store = cluster.store
            health = HealthReporter(nodeID: nodeID, redisUp: { cluster.isUp })
        } else {
            store = MemorySessionStore(settings: .init(
                maxEvents: config.sessions.maxEvents, maxTranscriptEntries: config.sessions.maxTranscriptEntries,
                idleTTLMillis: config.sessions.idleTTLSeconds * 1000, outboundCapBytes: config.server.outboundQueueBytes))
            health = HealthReporter(nodeID: nodeID)
        }
        providers = try ProviderSet(models: config.llm.models, environment: environment)
        let link = ServerLink()
        usage = try UsageRecorder(budgets: config.budgets, logPath: config.usage.logPath)
        store.setDelivery { link.deliver($0) }
        let limiter: any RateLimiter = cluster?.rateLimiter ?? MemoryRateLimiter()
        let limits = AdmissionLimits(limits: config.limits, limiter: limiter,
                                     systemPrompt: config.llm.systemPrompt)
        turns = TurnCoordinator(store: store, providers: providers.byDeployment, llm: config.llm, workers: config.workers,
                                usage: usage, queue: cluster?.queue, limits: limits)
        let presenceBackend: any PresenceBackend = cluster?.presence ?? MemoryPresence(nodeID: nodeID)
        presence = PresenceHub(backend: presenceBackend, link: link)
        let service = GatewayService(config: config, nodeID: nodeID, store: store, turns: turns, link: link, health: health,
                                     limits: limits, presence: self.presence, acceptsClients: !workerOnly)
        server = WebSocketServer(options: Self.serverOptions(config), handler: service)
        link.attach(server)
        sweeper = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
    }

    public var boundPort: Int { server.boundPort }

    public func start() throws {
        presence.start()
        try server.start()
        let store = self.store
        sweeper.schedule(deadline: .now() + .seconds(30), repeating: .seconds(30))
        sweeper.setEventHandler {
            let expired = store.expireIdleSessions()
            if expired > 0 { Log.info("expired \(expired) idle session(s)") }
        }
        sweeper.resume()
        turns.startClaiming()
        health.set(.ready)
        warnAboutUnpricedDeployments()
        let mode = cluster.map { "shared state in Redis \($0.endpoint), \(config.workers.concurrency) worker slot(s)" }
            ?? "in-memory state"
        Log.info("node \(nodeID) ready (\(mode)); default model '\(config.llm.defaultModel)' (\(providers.describe(config.llm.defaultModel)))")
    }

    /// Stops in reverse order: not ready, no new turns and running ones ended, connections closed
    /// (1001), this node's users out of presence, then the upstream client.
    public func stop() {
        health.set(.draining)
        sweeper.cancel()
        turns.cancelAll(reason: TurnError(code: "shutdown", message: "the gateway node is shutting down"))
        server.stop()
        presence.stop()
        cluster?.shutdown()
        providers.shutdown()
        usage.flush()
    }

    /// Budgets count a turn's cost from its deployment's price; a deployment without one costs
    /// nothing to them, so with budgets set it would never be refused. Say so rather than stay silent.
    private func warnAboutUnpricedDeployments() {
        guard config.budgets.defaultCostPerDay != nil || !config.budgets.costPerDay.isEmpty else { return }
        let unpriced = config.llm.models.values.flatMap { model in
            model.deployments.filter { $0.provider != .demo && $0.price == nil }.map { "'\($0.id)'" }
        }.sorted()
        guard !unpriced.isEmpty else { return }
        Log.warning("budgets are set but deployment(s) \(unpriced.joined(separator: ", ")) have no price: "
                    + "their turns count as free against every budget")
    }

    static func serverOptions(_ config: GatewayConfig) -> WebSocketServerOptions {
        var options = WebSocketServerOptions()
        options.host = config.server.host
        options.port = config.server.port
        options.maxMessageBytes = config.server.maxMessageBytes
        options.echoEnabled = config.server.echoEndpoint
        options.echoMaxMessageBytes = config.server.echoMaxMessageBytes
        options.heartbeatSeconds = config.server.heartbeatSeconds
        options.hangupSeconds = config.server.heartbeatSeconds * 2 + 10
        options.staticRoot = config.server.staticRoot.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        return options
    }
}
