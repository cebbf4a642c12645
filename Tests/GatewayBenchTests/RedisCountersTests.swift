@testable import GatewayBench
import XCTest

/// The multinode runs' Redis accounting: what INFO says, the difference of two readings, and the
/// per-token and per-turn figures made of it. No Redis here: INFO text as Redis 7.0 writes it.
final class RedisCountersTests: XCTestCase {
    private let before = """
        # Commandstats\r
        cmdstat_evalsha:calls=10,usec=500,usec_per_call=50.00,rejected_calls=0,failed_calls=0\r
        cmdstat_info:calls=4,usec=80,usec_per_call=20.00,rejected_calls=0,failed_calls=0\r
        cmdstat_config|resetstat:calls=1,usec=36,usec_per_call=36.00,rejected_calls=0,failed_calls=0\r
        \r
        # Stats\r
        total_connections_received:5\r
        total_commands_processed:15\r
        """

    func testReadsCallsPerCommandAndTheTotal() {
        let calls = RedisCounters.parseCommandStats(before)
        XCTAssertEqual(calls, ["evalsha": 10, "info": 4, "config|resetstat": 1])
        XCTAssertEqual(RedisCounters.parseFields(before)["total_commands_processed"], "15")
        XCTAssertNil(RedisCounters.parseFields(before)["# Stats"], "section headers are not fields")
    }

    func testTheDifferenceLeavesOutTheReadingsOwnInfoCalls() {
        let earlier = RedisCounters(calls: ["evalsha": 10, "info": 4], totalCommandsProcessed: 15)
        let later = RedisCounters(calls: ["evalsha": 110, "info": 6, "xadd": 100], totalCommandsProcessed: 217)
        let delta = earlier.delta(to: later)
        XCTAssertEqual(delta.calls, ["evalsha": 100, "xadd": 100], "a command new in the later reading counts whole")
        XCTAssertEqual(delta.totalCommandsProcessed, 200)
        XCTAssertEqual(delta.totalCalls, 200)
    }

    func testPerTokenAndPerTurnAndNetOfTheBackground() {
        let run = RedisCounters(calls: ["evalsha": 104, "xadd": 104, "xreadgroup": 2], totalCommandsProcessed: 210)
        let background = RedisCounters(calls: ["xreadgroup": 2], totalCommandsProcessed: 10)
        let ops = RedisOps(run: run, runSeconds: 1, background: background, backgroundSeconds: 2, turns: 2, tokens: 100)
        XCTAssertEqual(ops.perToken(210), 2.1, accuracy: 1e-9)
        XCTAssertEqual(ops.perTurn(210), 105, accuracy: 1e-9)
        XCTAssertEqual(ops.evalshaPerToken, 1.04, accuracy: 1e-9)
        XCTAssertEqual(ops.backgroundPerSecond ?? 0, 5, accuracy: 1e-9)
        XCTAssertEqual(ops.netCommands ?? 0, 205, accuracy: 1e-9, "the background rate over the run's second comes off")
        XCTAssertEqual(ops.commandsByCount.map(\.name), ["evalsha", "xadd", "xreadgroup"], "most first, ties by name")
        XCTAssertEqual(RedisOps(run: run, runSeconds: 1, background: nil, backgroundSeconds: 0, turns: 0, tokens: 0).perToken(5), 0)
    }

    func testNodeNamesAndLayoutNames() {
        XCTAssertEqual((0..<3).map(BenchCluster.nodeName), ["a", "b", "c"])
        XCTAssertEqual(BenchCluster.Layout(nodes: 1, redis: false).name, "memory-1")
        XCTAssertEqual(BenchCluster.Layout(nodes: 3, redis: true).name, "redis-3")
    }
}
