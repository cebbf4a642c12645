import RedisTestSupport
import Foundation
import GatewayRedis
import XCTest

/// `RedisSubscriber` against a real redis-server: delivery, re-subscribing after a restart,
/// and noticing a server that stopped answering.
final class RedisSubscriberTests: RedisServerTestCase {
    private static let options = RedisSubscriberOptions(
        connectTimeout: .milliseconds(200), pingInterval: .milliseconds(100), pingTimeout: .milliseconds(200),
        reconnectBackoff: RedisReconnectBackoff(initialDelay: .milliseconds(20), maximumDelay: .milliseconds(100)),
        threadName: "redis-test-sub")

    func testReceivesMessagesOnChannelsAndPatternsUntilUnsubscribed() async throws {
        let events = Recorder<RedisSubscriberEvent>()
        let subscriber = try makeSubscriber(options: Self.options, onEvent: events.append)
        subscriber.subscribe(channels: ["news", "sport"])
        subscriber.subscribe(patterns: ["session:*"])
        XCTAssertTrue(events.waitUntil { Set($0).isSuperset(of: [.subscribed(.channel("news")), .subscribed(.channel("sport")),
                                                                 .subscribed(.pattern("session:*"))]) }, "\(events.all)")

        let publisher = try makeClient()
        let binary: [UInt8] = [0, 1, 2, 13, 10, 255]
        let newsReceivers = try await publisher.send(["PUBLISH", "news", "hello"])
        XCTAssertEqual(newsReceivers, .integer(1))
        _ = try await publisher.send(["PUBLISH", "session:42", .bytes(binary)])
        _ = try await publisher.send(["PUBLISH", "weather", "nobody listens"])
        XCTAssertTrue(events.waitUntil { Self.messages(in: $0).count == 2 })
        XCTAssertEqual(Self.messages(in: events.all), [
            RedisMessage(channel: "news", payload: Array("hello".utf8)),
            RedisMessage(channel: "session:42", pattern: "session:*", payload: binary),
        ])

        subscriber.unsubscribe(channels: ["news"])
        XCTAssertTrue(events.waitUntil { $0.contains(.unsubscribed(.channel("news"))) })
        let afterUnsubscribe = try await publisher.send(["PUBLISH", "news", "gone"])
        XCTAssertEqual(afterUnsubscribe, .integer(0), "the server no longer counts us")
        _ = try await publisher.send(["PUBLISH", "sport", "still here"])
        XCTAssertTrue(events.waitUntil { Self.messages(in: $0).count == 3 })
        XCTAssertEqual(Self.messages(in: events.all).last, RedisMessage(channel: "sport", payload: Array("still here".utf8)))

        subscriber.shutdown()
        XCTAssertEqual(events.all.last, .stateChanged(.closed))
        XCTAssertFalse(events.all.contains(.resubscribed), "no reconnect happened")
        XCTAssertFalse(events.all.contains { if case .stateChanged(.down) = $0 { true } else { false } },
                       "PINGs answered in time keep the link up: \(events.all)")
    }

    func testResubscribesToEverythingAfterAServerRestartAndSaysSo() async throws {
        let events = Recorder<RedisSubscriberEvent>()
        let subscriber = try makeSubscriber(options: Self.options, onEvent: events.append)
        subscriber.subscribe(channels: ["presence"])
        subscriber.subscribe(patterns: ["room:*"])
        XCTAssertTrue(events.waitUntil { $0.contains(.subscribed(.pattern("room:*"))) })

        server.kill()
        XCTAssertTrue(events.waitUntil { $0.contains { if case .stateChanged(.down) = $0 { true } else { false } } })
        subscriber.subscribe(channels: ["late"])  // while down: recorded, sent on reconnect
        try server.start()
        XCTAssertTrue(events.waitUntil { $0.contains(.resubscribed) }, "\(events.all)")

        let all = events.all
        let firstDown = try XCTUnwrap(all.firstIndex { if case .stateChanged(.down) = $0 { true } else { false } })
        let resubscribed = try XCTUnwrap(all.firstIndex(of: .resubscribed))
        XCTAssertEqual(Set(all[firstDown..<resubscribed].filter { if case .subscribed = $0 { true } else { false } }),
                       [.subscribed(.channel("presence")), .subscribed(.channel("late")), .subscribed(.pattern("room:*"))],
                       "every subscription confirmed again before .resubscribed")

        let publisher = try makeClient()
        for channel in ["presence", "room:7", "late"] {
            let receivers = try await publisher.send(["PUBLISH", RedisArgument(channel), "after restart"])
            XCTAssertEqual(receivers, .integer(1), channel)
        }
        XCTAssertTrue(events.waitUntil { Self.messages(in: $0).count == 3 })
        XCTAssertEqual(Self.messages(in: events.all).map(\.channel), ["presence", "room:7", "late"])
    }

    func testNoticesAPausedServerByPingAndRecoversWhenItResumes() async throws {
        let events = Recorder<RedisSubscriberEvent>()
        let subscriber = try makeSubscriber(options: Self.options, onEvent: events.append)
        subscriber.subscribe(channels: ["heartbeat"])
        XCTAssertTrue(events.waitUntil { $0.contains(.subscribed(.channel("heartbeat"))) })

        server.pause()  // the TCP connection stays open: only the missing PONG shows it is dead
        let paused = ContinuousClock.now
        let sawDeadLink = events.waitUntil(timeout: 3) { $0.contains(where: Self.isDeadLink) }
        let noticedAfter = ContinuousClock.now - paused
        XCTAssertFalse(subscriber.state.isConnected, "no handshake succeeds with a paused server")
        server.resume()
        XCTAssertTrue(sawDeadLink, "\(events.all)")
        XCTAssertLessThan(noticedAfter, .milliseconds(1_500), "within about pingInterval + pingTimeout")

        XCTAssertTrue(events.waitUntil { $0.contains(.resubscribed) }, "\(events.all)")
        let publisher = try makeClient()
        let receivers = try await publisher.send(["PUBLISH", "heartbeat", "back"])
        XCTAssertEqual(receivers, .integer(1))
        XCTAssertTrue(events.waitUntil { Self.messages(in: $0).map(\.text) == ["back"] })
    }

    private static func isDeadLink(_ event: RedisSubscriberEvent) -> Bool {
        guard case let .stateChanged(.down(.connectionLost(reason))) = event else { return false }
        return reason.contains("PONG")
    }

    private static func messages(in events: [RedisSubscriberEvent]) -> [RedisMessage] {
        events.compactMap { if case let .message(message) = $0 { message } else { nil } }
    }
}
