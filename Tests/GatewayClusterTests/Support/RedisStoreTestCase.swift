import Foundation
@testable import GatewayCluster
import GatewayCore
import GatewayRedis
import RedisTestSupport
import XCTest

/// A test case with a redis-server of its own and any number of `RedisSessionStore`s on it, each
/// with its own client and subscriber: the "nodes" of a cluster.
class RedisStoreTestCase: XCTestCase {
    var server: RedisTestServer!
    private var clients: [RedisClient] = []
    private var stores: [RedisSessionStore] = []
    let warnings = Recorder<String>()

    static let clientOptions = RedisClientOptions(connectTimeout: .milliseconds(500), commandTimeout: .seconds(3),
                                                  reconnectBackoff: RedisReconnectBackoff(initialDelay: .milliseconds(20),
                                                                                          maximumDelay: .milliseconds(200)),
                                                  threadName: "test-redis-cmd")
    static let subscriberOptions = RedisSubscriberOptions(connectTimeout: .milliseconds(500), pingInterval: .milliseconds(200),
                                                          pingTimeout: .milliseconds(500),
                                                          reconnectBackoff: RedisReconnectBackoff(initialDelay: .milliseconds(20),
                                                                                                  maximumDelay: .milliseconds(200)),
                                                          threadName: "test-redis-sub")
    static let defaultSettings = RedisSessionStore.Settings(maxEvents: 100, maxTranscriptEntries: 100, idleTTLMillis: 600_000,
                                                            outboundCapBytes: 1 << 20)
    /// A log long enough that a subscriber reading only at the end of a test still finds its place in it.
    static let roomy = RedisSessionStore.Settings(maxEvents: 5000, maxTranscriptEntries: 1000, idleTTLMillis: 600_000,
                                                  outboundCapBytes: 1 << 24)

    override func setUpWithError() throws {
        server = try RedisTestServer()
    }

    override func tearDown() {
        stores.forEach { $0.shutdown() }
        clients.forEach { $0.shutdown() }
        stores = []
        clients = []
        server?.stop()
        server = nil
    }

    /// A node: its own command client and store.
    func makeStore(_ settings: RedisSessionStore.Settings = defaultSettings, keys: ClusterKeys = ClusterKeys(),
                   clientOptions: RedisClientOptions = clientOptions) throws -> RedisSessionStore {
        let client = try RedisClient(url: server.url, options: clientOptions)
        clients.append(client)
        let store = RedisSessionStore(client: client, keys: keys, settings: settings, subscriberOptions: Self.subscriberOptions,
                                      log: { [warnings] in warnings.append($0) })
        stores.append(store)
        return store
    }

    func makeClient() throws -> RedisClient {
        let client = try RedisClient(url: server.url, options: Self.clientOptions)
        clients.append(client)
        return client
    }

    /// redis-cli's answer, lines split.
    func cli(_ arguments: String...) throws -> [String] {
        // INFO answers with CRLF, which Swift sees as one Character.
        try server.cli(arguments).split(whereSeparator: \.isNewline).map(String.init)
    }

    /// `calls` of each command in INFO commandstats, e.g. ["evalsha": 200, "publish": 200].
    func commandCalls() throws -> [String: Int] {
        var calls: [String: Int] = [:]
        for line in try cli("INFO", "commandstats") {
            // cmdstat_evalsha:calls=200,usec=...
            guard line.hasPrefix("cmdstat_"), let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[line.index(line.startIndex, offsetBy: 8)..<colon])
            let stats = line[line.index(after: colon)...].split(separator: ",")
            if let first = stats.first, first.hasPrefix("calls="), let count = Int(first.dropFirst(6)) { calls[name] = count }
        }
        return calls
    }
}

extension RedisStoreTestCase {
    /// A store whose append scripts are loaded: appends submitted before that wait for the load,
    /// while reads and messages go at once, so a test that mixes them right after start-up would
    /// race the load.
    func makeReadyStore(_ settings: RedisSessionStore.Settings = defaultSettings, keys: ClusterKeys = ClusterKeys()) throws -> RedisSessionStore {
        let store = try makeStore(settings, keys: keys)
        let loaded = Recorder<Bool>()
        XCTAssertTrue(loaded.waitUntil(timeout: 10) { _ in store.appendScriptsLoaded }, "the append scripts were not loaded")
        return store
    }

    /// Polls the session's seq counter in Redis until it reaches `seq`.
    func waitForSeq(session: String, atLeast seq: Int, keys: ClusterKeys = ClusterKeys()) throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let value = Int(try server.cli(["GET", keys.sessionSeq(session)])), value >= seq { return }
            usleep(2_000)
        }
        XCTFail("session \(session) never reached seq \(seq)")
    }
}

extension RedisStoreTestCase {
    /// One command through a client of the test's own (binary-safe, unlike redis-cli's output).
    func command(_ arguments: [RedisArgument], on client: RedisClient) throws -> RedisValue {
        let answer = Recorder<Result<RedisValue, RedisError>>()
        client.send(arguments) { answer.append($0) }
        guard answer.waitUntil(timeout: 5, { !$0.isEmpty }) else { throw StoreDriver.Timeout(description: "\(arguments.first!)") }
        return try answer.all[0].get()
    }

    /// Runs a script made of the session log's Lua library and `body`, with the store scripts' common arguments.
    func evaluateWithLibrary(_ body: String, session: String, arguments: [RedisArgument] = [], on client: RedisClient,
                             settings: RedisSessionStore.Settings = defaultSettings, keys: ClusterKeys = ClusterKeys()) throws -> RedisValue {
        let script = RedisScript(SessionLogLua.library + """
            local K = session_keys(ARGV[1], ARGV[2])
            local C = settings(ARGV[3], ARGV[4], ARGV[5])

            """ + body)
        let answer = Recorder<Result<RedisValue, RedisError>>()
        client.evaluate(script, arguments: SessionLogScripts.common(keys, session, settings) + arguments) { answer.append($0) }
        guard answer.waitUntil(timeout: 5, { !$0.isEmpty }) else { throw StoreDriver.Timeout(description: "script") }
        return try answer.all[0].get()
    }
}
