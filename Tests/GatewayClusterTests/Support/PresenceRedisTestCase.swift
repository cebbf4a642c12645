import Foundation
import GatewayRedis
import RedisTestSupport
import XCTest
@testable import GatewayCluster

/// A test case with its own redis-server, and `RedisPresence` nodes on it, each with its own
/// command client; nodes are halted, clients shut down and the server stopped after each test.
class PresenceRedisTestCase: XCTestCase, PresenceNodeFactory {
    var server: RedisTestServer!
    private var clients: [RedisClient] = []
    private var presences: [RedisPresence] = []

    /// Short reconnect delays, so recovery tests do not wait out the default backoff.
    static let clientOptions = RedisClientOptions(connectTimeout: .milliseconds(500), commandTimeout: .seconds(3),
                                                  reconnectBackoff: RedisReconnectBackoff(initialDelay: .milliseconds(20),
                                                                                          maximumDelay: .milliseconds(200)),
                                                  threadName: "presence-test")

    /// Long enough that no lease runs out by accident on a busy machine: the behaviour tests check
    /// exact event sequences, which a sweep of a late renewal would change.
    static let steadySettings = RedisPresenceSettings(
        leaseMillis: 10_000, sweepIntervalMillis: 500,
        subscriber: RedisSubscriberOptions(connectTimeout: .milliseconds(500), pingInterval: .seconds(1), pingTimeout: .seconds(1),
                                           reconnectBackoff: RedisReconnectBackoff(initialDelay: .milliseconds(20),
                                                                                   maximumDelay: .milliseconds(200)),
                                           threadName: "presence-sub"))

    override func setUpWithError() throws {
        server = try RedisTestServer()
    }

    override func tearDown() {
        presences.forEach { $0.halt() }
        clients.forEach { $0.shutdown() }
        presences = []
        clients = []
        server?.stop()
        server = nil
    }

    func node(_ id: String) throws -> PresenceNode {
        try node(id, settings: Self.steadySettings)
    }

    func node(_ id: String, settings: RedisPresenceSettings) throws -> PresenceNode {
        let presence = try presence(id, settings: settings)
        return PresenceNode(id: id, backend: presence) { [weak presence] in presence?.isListening(to: $0) ?? true }
    }

    func presence(_ id: String, settings: RedisPresenceSettings = steadySettings) throws -> RedisPresence {
        let client = try RedisClient(url: server.url, options: Self.clientOptions)
        clients.append(client)
        let presence = RedisPresence(nodeID: id, client: client, endpoint: try RedisEndpoint(url: server.url), settings: settings)
        presences.append(presence)
        return presence
    }

    /// `redis-cli` output split in lines (empty for an empty reply).
    func cli(_ arguments: String...) throws -> [String] {
        try server.cli(arguments).split(separator: "\n").map(String.init)
    }

    /// Polls `condition` (on Redis, through redis-cli) until it holds or `timeout` passes.
    @discardableResult
    func eventually(timeout: TimeInterval = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while try !condition() {
            if Date() > deadline { return false }
            usleep(20_000)
        }
        return true
    }
}
