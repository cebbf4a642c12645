import RedisTestSupport
import Foundation
import GatewayRedis
import Synchronization
import XCTest

/// `RedisClient` when the server is not there, dies, comes back, stops answering, or the
/// client shuts down with work outstanding.
final class RedisClientConnectionTests: RedisServerTestCase {
    func testConnectionRefusedThenCommandsFailAtOnceWhileDown() async throws {
        let port = try RedisTestServer.unusedPort()
        let options = RedisClientOptions(connectTimeout: .milliseconds(500), commandTimeout: .seconds(3),
                                         reconnectBackoff: RedisReconnectBackoff(initialDelay: .seconds(30)))
        let client = try makeClient(url: "redis://127.0.0.1:\(port)", options: options)
        let deadline = Date().addingTimeInterval(3)
        while !client.state.isDown, Date() < deadline { usleep(2_000) }
        XCTAssertEqual(client.state, .down(.cannotConnect("Connection refused")))

        let started = ContinuousClock.now
        let error = await failure(of: ["PING"], on: client)
        XCTAssertEqual(error, .notConnected, "not held for the next attempt, 30 s away")
        XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(500))
    }

    func testCommandsSentWhileConnectingWaitForTheAttemptAndGetItsError() async throws {
        server.pause()  // the kernel still accepts the connection; the handshake PING gets no answer
        defer { server.resume() }
        let options = RedisClientOptions(connectTimeout: .milliseconds(300), commandTimeout: .seconds(3),
                                         reconnectBackoff: RedisReconnectBackoff(initialDelay: .seconds(30)))
        let client = try makeClient(options: options)
        let started = ContinuousClock.now
        let error = await failure(of: ["PING"], on: client)
        let waited = ContinuousClock.now - started
        guard case let .cannotConnect(reason) = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(reason.contains("handshake"), reason)
        XCTAssertGreaterThan(waited, .milliseconds(250), "waited for the attempt")
        XCTAssertLessThan(waited, .milliseconds(1_500), "and only for the attempt")
    }

    func testServerKilledMidUseFailsInFlightCommandsThenTheClientReconnectsByItself() async throws {
        let states = Recorder<RedisConnectionState>()
        let client = try makeClient(onStateChange: states.append)
        _ = try await client.send(["SET", "before", "1"])

        // BLPOP holds its reply on the server; SET is pipelined behind it. Both are in flight.
        let inFlight = Recorder<Result<RedisValue, RedisError>>()
        client.send(["BLPOP", "never-filled", 10], completion: inFlight.append)
        client.send(["SET", "behind", "2"], completion: inFlight.append)
        XCTAssertTrue(try waitForBlockedClient(), "BLPOP reached the server")
        server.kill()

        XCTAssertTrue(inFlight.waitUntil { $0.count == 2 })
        for result in inFlight.all {
            guard case .failure(.connectionLost) = result else { return XCTFail("in flight: \(result)") }
        }
        XCTAssertTrue(states.waitUntil { $0.contains { $0.isDown } })
        guard case .down(.connectionLost)? = states.all.first(where: \.isDown) else {
            return XCTFail("first down state: \(states.all)")
        }

        // Still down: commands fail promptly, with the reason they were not sent.
        let started = ContinuousClock.now
        let whileDown = await failure(of: ["GET", "before"], on: client)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(1))
        XCTAssertTrue(whileDown == .notConnected || whileDown == .cannotConnect("Connection refused"),
                      "\(String(describing: whileDown))")

        try server.start()  // same port, empty (no persistence)
        XCTAssertTrue(states.waitUntil { $0.last == .connected }, "reconnected by itself: \(states.all)")
        _ = try await client.send(["SET", "after", "3"])
        let after = try await client.send(["GET", "after"])
        XCTAssertEqual(after, .bulk("3"))
        XCTAssertEqual(states.all.first, .connected)
    }

    func testALateReplyTimesOutAndTheConnectionIsMadeAgain() async throws {
        let states = Recorder<RedisConnectionState>()
        var options = Self.fastOptions
        options.commandTimeout = .milliseconds(300)
        let client = try makeClient(options: options, onStateChange: states.append)
        _ = try await client.send(["PING"])

        let results = Recorder<Result<RedisValue, RedisError>>()
        let started = ContinuousClock.now
        client.send(["BLPOP", "never-filled", 5], completion: results.append)
        try await Task.sleep(for: .milliseconds(100))
        client.send(["PING"], completion: results.append)  // behind it, with time left on its own clock
        XCTAssertTrue(results.waitUntil { $0.count == 2 })
        let waited = ContinuousClock.now - started
        XCTAssertEqual(results.all.map { (try? $0.get()) == nil }, [true, true])
        if case let .failure(first) = results.all[0] { XCTAssertEqual(first, .timeout) }
        if case let .failure(second) = results.all[1] {
            XCTAssertEqual(second, .connectionLost("dropped after an earlier command timed out"))
        }
        XCTAssertGreaterThan(waited, .milliseconds(250))
        XCTAssertLessThan(waited, .milliseconds(1_500))

        let pong = try await client.send(["PING"])
        XCTAssertEqual(pong, .status("PONG"), "a new connection")
        XCTAssertTrue(states.all.contains(.down(.timeout)), "\(states.all)")
    }

    func testShutdownWithCommandsPendingFailsThemAndJoins() async throws {
        let states = Recorder<RedisConnectionState>()
        let client = try makeClient(onStateChange: states.append)
        _ = try await client.send(["PING"])
        server.pause()  // everything sent from now on stays unanswered
        defer { server.resume() }

        let counts = Mutex([Int: Int]())
        let errors = Recorder<RedisError>()
        for index in 0..<20 {
            client.send(["INCR", "pending"]) { result in
                counts.withLock { $0[index, default: 0] += 1 }
                if case let .failure(error) = result { errors.append(error) }
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        let started = ContinuousClock.now
        client.shutdown()
        XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(500), "no waiting for the paused server")

        XCTAssertEqual(counts.withLock { $0 }, Dictionary(uniqueKeysWithValues: (0..<20).map { ($0, 1) }),
                       "each completion exactly once, before shutdown returns")
        XCTAssertEqual(Set(errors.all), [.shutdown])
        XCTAssertEqual(client.state, .closed)
        XCTAssertEqual(states.all.last, .closed)
        let afterShutdown = await failure(of: ["PING"], on: client)
        XCTAssertEqual(afterShutdown, .shutdown)
        client.shutdown()  // idempotent
    }

    /// Polls the server's INFO through redis-cli until one client is blocked.
    private func waitForBlockedClient() throws -> Bool {
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline {
            if try server.cli(["INFO", "clients"]).contains("blocked_clients:1") { return true }
            usleep(5_000)
        }
        return false
    }
}
