import GatewayCluster
import GatewayCore
import GatewayRedis

/// The Redis side of a node in multi-node mode (`redis.url`): one shared command connection and
/// the backends built on it, each with the extra connections it needs (pub/sub, blocking reads).
/// Built only when a URL is configured; the memory backends are the embedded default.
final class ClusterBackends: Sendable {
    /// Where Redis is (its description leaves the password out).
    let endpoint: RedisEndpoint
    let commands: RedisClient
    let keys: ClusterKeys
    let store: RedisSessionStore
    let queue: RedisTurnQueue
    let presence: RedisPresence
    let rateLimiter: RedisRateLimiter

    init(config: GatewayConfig, nodeID: String) throws {
        guard let url = config.redis.url else { throw ConfigError(key: "redis.url", problem: "is not set") }
        let endpoint: RedisEndpoint
        do { endpoint = try RedisEndpoint(url: url) } catch {
            throw ConfigError(key: "redis.url", problem: "\(error)")
        }
        self.endpoint = endpoint
        keys = ClusterKeys(prefix: config.redis.prefix)
        var options = RedisClientOptions(commandTimeout: .milliseconds(config.redis.commandTimeoutMillis), threadName: "redis-commands")
        options.connectTimeout = .milliseconds(min(2000, config.redis.commandTimeoutMillis))
        commands = RedisClient(endpoint: endpoint, options: options) { state in
            switch state {
            case .down(let error): Log.warning("redis \(endpoint): down (\(error)); retrying")
            case .connected: Log.info("redis \(endpoint): connected")
            default: break
            }
        }
        store = RedisSessionStore(client: commands, keys: keys, settings: .init(
            maxEvents: config.sessions.maxEvents, maxTranscriptEntries: config.sessions.maxTranscriptEntries,
            idleTTLMillis: config.sessions.idleTTLSeconds * 1000, outboundCapBytes: config.server.outboundQueueBytes,
            turnQueueLimit: config.workers.queueSize,
            // A confirmation is one round trip: waiting much longer than a command would only delay `unavailable`.
            subscribeTimeoutMillis: max(1000, 2 * config.redis.commandTimeoutMillis)),
            log: { Log.warning($0) })
        queue = RedisTurnQueue(commands: commands, endpoint: endpoint,
                               settings: .init(keys: keys, nodeID: nodeID, leaseMillis: config.workers.leaseSeconds * 1000))
        presence = RedisPresence(nodeID: nodeID, client: commands, endpoint: endpoint, keys: keys)
        rateLimiter = RedisRateLimiter(client: commands, keys: keys)
    }

    /// Up when the command connection is; the pub/sub links report their own outages in the log.
    var isUp: Bool { commands.state.isConnected }

    /// After the presence hub stopped (it takes this node's users out through `commands`).
    func shutdown() {
        queue.shutdown()
        store.shutdown()
        commands.shutdown()
    }
}
