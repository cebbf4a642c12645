import RedisTestSupport
import Foundation
import GatewayRedis
import XCTest

/// A test case with its own redis-server, started before each test and stopped after it, and
/// the clients and subscribers it made shut down first.
class RedisServerTestCase: XCTestCase {
    var server: RedisTestServer!
    private var clients: [RedisClient] = []
    private var subscribers: [RedisSubscriber] = []

    /// Short enough for the tests to see reconnects quickly.
    static let fastOptions = RedisClientOptions(connectTimeout: .milliseconds(500), commandTimeout: .seconds(3),
                                                reconnectBackoff: RedisReconnectBackoff(initialDelay: .milliseconds(20),
                                                                                        maximumDelay: .milliseconds(200)),
                                                threadName: "redis-test-cmd")

    /// The password `server` requires; nil for none.
    var serverPassword: String? { nil }
    /// More redis-server options for this test case.
    var serverArguments: [String] { [] }

    override func setUpWithError() throws {
        server = try RedisTestServer(password: serverPassword, extraArguments: serverArguments)
    }

    override func tearDown() {
        clients.forEach { $0.shutdown() }
        subscribers.forEach { $0.shutdown() }
        clients = []
        subscribers = []
        server?.stop()
        server = nil
    }

    func makeClient(url: String? = nil, options: RedisClientOptions = fastOptions,
                    onStateChange: (@Sendable (RedisConnectionState) -> Void)? = nil) throws -> RedisClient {
        let client = try RedisClient(url: url ?? server.url, options: options, onStateChange: onStateChange)
        clients.append(client)
        return client
    }

    func makeSubscriber(options: RedisSubscriberOptions,
                        onEvent: @escaping @Sendable (RedisSubscriberEvent) -> Void) throws -> RedisSubscriber {
        let subscriber = try RedisSubscriber(url: server.url, options: options, onEvent: onEvent)
        subscribers.append(subscriber)
        return subscriber
    }

    /// The error `arguments` fail with, nil if they succeed.
    func failure(of arguments: [RedisArgument], on client: RedisClient) async -> RedisError? {
        do {
            _ = try await client.send(arguments)
            return nil
        } catch {
            return error
        }
    }
}
