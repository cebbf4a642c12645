import Foundation
@testable import GatewayCluster
import GatewayCore
import GatewayRedis
import RedisTestSupport
import Synchronization
import XCTest

/// `RedisRateLimiter` against a redis-server of each test's own: the shared behaviour (the twin
/// of `MemoryRateLimiterBehaviourTests`), then what only the shared backend has: key names and
/// expiries, several nodes on one bucket, and Redis failing.
final class RedisRateLimiterTests: XCTestCase {
    private typealias Behaviour = RateLimiterBehaviour
    private var server: RedisTestServer!
    private var clients: [RedisClient] = []

    private static let options = RedisClientOptions(connectTimeout: .milliseconds(500), commandTimeout: .seconds(3),
                                                    reconnectBackoff: RedisReconnectBackoff(initialDelay: .milliseconds(20),
                                                                                            maximumDelay: .milliseconds(200)),
                                                    threadName: "rl-test-cmd")

    override func setUpWithError() throws {
        server = try RedisTestServer()
    }

    override func tearDown() {
        clients.forEach { $0.shutdown() }
        clients = []
        server?.stop()
        server = nil
    }

    /// A client of its own: one per simulated node.
    private func makeLimiter(keys: ClusterKeys = ClusterKeys(), decisionTimeout: Duration? = .milliseconds(250)) throws -> RedisRateLimiter {
        let client = try RedisClient(url: server.url, options: Self.options)
        clients.append(client)
        return RedisRateLimiter(client: client, keys: keys, decisionTimeout: decisionTimeout)
    }

    private func behaviour(keys: ClusterKeys = ClusterKeys()) throws -> Behaviour { Behaviour(limiter: try makeLimiter(keys: keys)) }

    // MARK: - The shared behaviour

    func testAFullBucketAdmitsItsBurstThenRefusesForAnInterval() async throws { try await behaviour().aFullBucketAdmitsItsBurstThenRefusesForAnInterval() }
    func testBucketsOfOtherSubjectsAndLimitsAreUntouched() async throws { try await behaviour().bucketsOfOtherSubjectsAndLimitsAreUntouched() }
    func testACheckIsAllOrNothing() async throws { try await behaviour().aCheckIsAllOrNothing() }
    func testTheRefusalNamedIsTheLongestWait() async throws { try await behaviour().theRefusalNamedIsTheLongestWait() }
    func testARefundGivesRoomBackButBanksNoCredit() async throws { try await behaviour().aRefundGivesRoomBackButBanksNoCredit() }
    func testACostAboveTheBurstPassesOnlyWithAFullBucketAndIsOwed() async throws { try await behaviour().aCostAboveTheBurstPassesOnlyWithAFullBucketAndIsOwed() }
    func testSettlingOwesPastTheBurstAndRefundsBackToFull() async throws { try await behaviour().settlingOwesPastTheBurstAndRefundsBackToFull() }
    func testNoRequestsIsAllowedAtOnce() async throws { try await behaviour().noRequestsIsAllowedAtOnce() }
    func testARefusedTakePassesOnceItsRetryAfterHasPassed() async throws { try await behaviour().aRefusedTakePassesOnceItsRetryAfterHasPassed() }

    // MARK: - Keys

    private func pttl(_ key: String) throws -> Int { Int(try server.cli(["PTTL", key])) ?? -99 }

    private func assertExpiry(of key: String, within range: ClosedRange<Int>, _ message: String,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let left = try pttl(key)
        XCTAssertTrue(range.contains(left), "\(key): PTTL \(left), expected \(range): \(message)", file: file, line: line)
    }

    func testBucketsAreKeysUnderTheRateLimitPrefixHoldingTheirTATInMicroseconds() async throws {
        let behaviour = try behaviour(keys: ClusterKeys(prefix: "gw"))
        await behaviour.expectAllowed(Behaviour.slow, "alice")
        XCTAssertEqual(try server.cli(["KEYS", "*"]), "gw:rl:msg:user:alice")
        let time = try server.cli(["TIME"]).split(separator: "\n").compactMap { Int($0) }
        let now = time[0] * 1_000_000 + time[1]
        let tat = try XCTUnwrap(Int(try server.cli(["GET", "gw:rl:msg:user:alice"])))
        XCTAssertTrue((now...now + 60_000_000).contains(tat), "TAT \(tat) is within an interval of Redis's now \(now)")
    }

    func testEveryKeyWrittenExpiresWhenItsBucketIsFullAgain() async throws {
        let behaviour = try behaviour()
        await behaviour.expectAllowed(Behaviour.slow, "alice")
        try assertExpiry(of: "cg:rl:msg:user:alice", within: 59_000...60_000, "one interval")
        await behaviour.expectAdmittedInARow(Behaviour.slow, "alice", 4)
        try assertExpiry(of: "cg:rl:msg:user:alice", within: 299_000...300_000, "five intervals")

        await behaviour.expectSettled(Behaviour.tokens, "u1", cost: 150)
        try assertExpiry(of: "cg:rl:tok:user:u1", within: 89_000...90_000, "a settled debt expires when paid off")
        await behaviour.expectAllowed(Behaviour.tokens, "u1", cost: -10)
        try assertExpiry(of: "cg:rl:tok:user:u1", within: 83_000...84_000, "a refund in a check shortens it")

        let keys = try server.cli(["KEYS", "cg:rl:*"]).split(separator: "\n")
        XCTAssertEqual(keys.count, 2)
        for key in keys { XCTAssertGreaterThan(try pttl(String(key)), 0, "\(key) has an expiry") }
    }

    func testARefusalWritesNothingAndARefundToFullRemovesTheKey() async throws {
        let behaviour = try behaviour()
        await behaviour.expectAllowed(Behaviour.single, "10.0.0.1")
        let before = try server.cli(["GET", "cg:rl:conn:ip:10.0.0.1"])
        await behaviour.expectRefused(Behaviour.single, "10.0.0.1", retryAfterAbout: 60_000)
        XCTAssertEqual(try server.cli(["GET", "cg:rl:conn:ip:10.0.0.1"]), before)

        await behaviour.expectSettled(Behaviour.single, "10.0.0.1", cost: -5)
        XCTAssertEqual(try server.cli(["EXISTS", "cg:rl:conn:ip:10.0.0.1"]), "0", "a full bucket is no key")
        await behaviour.expectSettled(Behaviour.single, "nobody", cost: -1)
        XCTAssertEqual(try server.cli(["DBSIZE"]), "0")
    }

    // MARK: - Several nodes

    /// Four nodes (four connections) fire 1,500 takes each at once at one bucket of 2,000: exactly
    /// 2,000 pass, because each take is one script and Redis runs scripts one at a time. (One a
    /// minute: nothing refills during the test, so the count the GCRA allows is exactly the burst.)
    func testNodesHammeringOneBucketAdmitExactlyWhatTheGCRAAllows() throws {
        let rule = RateLimitRule(name: .messagesPerUser, gcra: GCRA(rate: 1, burst: 2_000), failOpen: true)
        let nodes = try (0..<4).map { _ in try makeLimiter(decisionTimeout: nil) }
        let request = [RateLimitRequest(rule: rule, subject: "hammered", cost: 1)]
        let decisions = Recorder<RateDecision>()
        DispatchQueue.concurrentPerform(iterations: nodes.count) { index in
            for _ in 0..<1_500 { nodes[index].check(request, completion: decisions.append) }
        }
        XCTAssertTrue(decisions.waitUntil(timeout: 30) { $0.count == 6_000 }, "\(decisions.all.count) answered")
        XCTAssertEqual(decisions.all.filter { $0 == .allowed }.count, 2_000)
        let refused = decisions.all.filter { if case .refused(.messagesPerUser, _) = $0 { true } else { false } }
        XCTAssertEqual(refused.count, 4_000, "the rest refused by the limit, none failed")
        XCTAssertGreaterThan(try pttl("cg:rl:msg:user:hammered"), 0)
    }

    // MARK: - Redis failing

    func testWithRedisDownEachLimitFailsOpenOrClosedAsConfiguredAndSaysSo() async throws {
        let behaviour = try behaviour()
        let open = Behaviour.request(Behaviour.slow, "alice")  // messages: fail open
        let closed = Behaviour.request(Behaviour.tokens, "alice", cost: 500)  // LLM tokens: fail closed
        await behaviour.expect([open, closed], .allowed)
        server.kill()

        guard case .failedOpen(let reason) = await behaviour.check([open]) else { return XCTFail("messages fail open") }
        XCTAssertTrue(reason.contains("Redis"), reason)
        guard case .failedClosed = await behaviour.check([closed]) else { return XCTFail("LLM tokens fail closed") }
        let both = await behaviour.check([open, closed])
        guard case .failedClosed = both else { return XCTFail("closed if any limit is: \(both)") }
        XCTAssertEqual(both.protocolError?.code, "unavailable")
        let settled = await behaviour.settle([closed])
        XCTAssertNotNil(settled, "a settle that could not be done is reported")

        try server.start()  // empty: the buckets start full again
        let deadline = Date().addingTimeInterval(5)
        var decision = await behaviour.check([open, closed])
        while decision != .allowed, Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
            decision = await behaviour.check([open, closed])
        }
        XCTAssertEqual(decision, .allowed, "back once Redis is")
    }

    /// A Redis that stops answering (SIGSTOP) is decided by the fail-open settings at the
    /// limiter's own deadline, not at the client's command timeout (3 s here).
    func testASilentRedisIsDecidedAtTheDecisionDeadline() async throws {
        let behaviour = Behaviour(limiter: try makeLimiter(decisionTimeout: .milliseconds(200)))
        await behaviour.expectAllowed(Behaviour.slow, "alice")
        server.pause()
        defer { server.resume() }
        let started = ContinuousClock.now
        await behaviour.expect([Behaviour.request(Behaviour.slow, "alice")],
                               .failedOpen(reason: "Redis did not answer within 0.2 seconds"))
        await behaviour.expect([Behaviour.request(Behaviour.tokens, "alice")],
                               .failedClosed(reason: "Redis did not answer within 0.2 seconds"))
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2), "well before the client's 3 s timeout")
    }

    func testRepliesThatAreNotTheScriptsAreFailuresNotDecisions() {
        let requests = [Behaviour.request(Behaviour.slow, "a")]
        let decide = { (reply: RedisValue) in RedisRateLimiter.decision(from: .success(reply), for: requests) }
        XCTAssertEqual(decide(.array([.integer(1), .integer(0), .integer(0)])), .allowed)
        XCTAssertEqual(decide(.array([.integer(0), .integer(1), .integer(1_500_001)])), .refused(.messagesPerUser, retryAfterMillis: 1_501))
        let odd: [RedisValue] = [.null, .integer(1), .array([.integer(0), .integer(2), .integer(5)]),
                                 .array([.integer(0), .integer(1), .integer(0)]), .array([.integer(1), .integer(0)]),
                                 .array([.integer(2), .integer(0), .integer(0)]), .array([.bulk("1"), .integer(0), .integer(0)])]
        for reply in odd {
            guard case .failedOpen = decide(reply) else { return XCTFail("\(reply) taken for a decision") }
        }
        XCTAssertEqual(RedisRateLimiter.decision(from: .failure(.notConnected), for: requests),
                       .failedOpen(reason: RedisError.notConnected.description))
    }
}
