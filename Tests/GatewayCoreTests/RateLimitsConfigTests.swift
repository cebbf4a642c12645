import Foundation
import XCTest
@testable import GatewayCore

/// The `limits` section: defaults, the rate keys (null switches a limit off), bursts, fail-open
/// flags, refusals naming the key, and its documentation in config/gateway.json. The burst, reserve
/// and fail-open keys are also in ConfigKeyTests' tables.
final class RateLimitsConfigTests: XCTestCase {
    private typealias Rate = RateLimits.Rate

    func testDefaultsAreForAChatWidget() throws {
        let limits = try loadConfig(nil).limits
        XCTAssertEqual(limits.messagesPerUser, Rate(perMinute: 20, burst: 10))
        XCTAssertEqual(limits.llmTokensPerUser, Rate(perMinute: 40_000, burst: 40_000))
        XCTAssertNil(limits.llmTokensPerTenant)
        XCTAssertEqual(limits.connectionsPerIP, Rate(perMinute: 60, burst: 30))
        XCTAssertEqual(limits.llmOutputReserveTokens, 512)
        XCTAssertEqual(limits.failOpen, RateLimits.FailOpen(messages: true, llmTokens: false, connections: true))
        XCTAssertEqual(try loadConfig(#"{"limits":{}}"#).limits, RateLimits())
        XCTAssertEqual(try loadConfig(#"{"limits":null}"#).limits, RateLimits())
        XCTAssertEqual(try loadConfig(#"{"limits":{"fail_open":null}}"#).limits, RateLimits())
    }

    private let rateKeys: [(path: String, range: ClosedRange<Int>, read: (RateLimits) -> Rate?)] = [
        ("messages_per_minute", 1...100_000, { $0.messagesPerUser }),
        ("llm_tokens_per_minute_per_user", 1...10_000_000, { $0.llmTokensPerUser }),
        ("llm_tokens_per_minute_per_tenant", 1...10_000_000, { $0.llmTokensPerTenant }),
        ("connections_per_minute_per_ip", 1...1_000_000, { $0.connectionsPerIP }),
    ]

    private func limits(_ json: String) throws -> RateLimits { try loadConfig(#"{"limits":{\#(json)}}"#).limits }

    func testRateKeysTakeTheirWholeRangeAndNullSwitchesTheLimitOff() throws {
        for key in rateKeys {
            XCTAssertEqual(key.read(try limits(#""\#(key.path)": \#(key.range.lowerBound)"#))?.perMinute, key.range.lowerBound, key.path)
            XCTAssertEqual(key.read(try limits(#""\#(key.path)": \#(key.range.upperBound)"#))?.perMinute, key.range.upperBound, key.path)
            XCTAssertNil(key.read(try limits(#""\#(key.path)": null"#)), "\(key.path): null is no limit")
            XCTAssertEqual(key.read(try limits("")), key.read(RateLimits()), "\(key.path): absent keeps the default")
        }
    }

    func testRateKeysOutOfRangeOrOfAnotherTypeAreRefusedNamingTheKey() {
        for key in rateKeys {
            let path = "limits.\(key.path)"
            for value in [key.range.lowerBound - 1, key.range.upperBound + 1, 0, -20] {
                XCTAssertEqual(configError(#"{"limits":{"\#(key.path)":\#(value)}}"#),
                               ConfigError(key: path, problem: "must be between \(key.range.lowerBound) and \(key.range.upperBound), got \(value)"))
            }
            for (value, typeName) in [(#""20""#, "a string"), ("true", "a boolean"), ("2.5", "a number"), ("{}", "an object")] {
                XCTAssertEqual(configError(#"{"limits":{"\#(key.path)":\#(value)}}"#),
                               ConfigError(key: path, problem: "must be an integer, not \(typeName)"), "\(path) = \(value)")
            }
        }
    }

    func testBurstsGoWithTheirRateWhetherTheRateIsSetOrDefault() throws {
        XCTAssertEqual(try limits(#""message_burst": 3"#).messagesPerUser, Rate(perMinute: 20, burst: 3))
        XCTAssertEqual(try limits(#""message_burst": 3, "messages_per_minute": 6"#).messagesPerUser, Rate(perMinute: 6, burst: 3))
        XCTAssertNil(try limits(#""message_burst": 3, "messages_per_minute": null"#).messagesPerUser)
        XCTAssertEqual(try limits(#""connection_burst": 200"#).connectionsPerIP, Rate(perMinute: 60, burst: 200))
        XCTAssertEqual(try limits(#""connections_per_minute_per_ip": 5"#).connectionsPerIP, Rate(perMinute: 5, burst: 30))
    }

    func testTokenBucketsHoldAMinutesWorth() throws {
        let set = try limits(#""llm_tokens_per_minute_per_user": 9000, "llm_tokens_per_minute_per_tenant": 250000"#)
        XCTAssertEqual(set.llmTokensPerUser, Rate(perMinute: 9_000, burst: 9_000))
        XCTAssertEqual(set.llmTokensPerTenant, Rate(perMinute: 250_000, burst: 250_000))
    }

    func testEveryLimitCanBeSwitchedOff() throws {
        let off = try limits(#"""
        "messages_per_minute": null, "llm_tokens_per_minute_per_user": null,
        "llm_tokens_per_minute_per_tenant": null, "connections_per_minute_per_ip": null
        """#)
        XCTAssertEqual(off, RateLimits.unlimited)
    }

    func testUnknownKeysAndWrongShapesAreRefusedNamingTheKey() {
        XCTAssertEqual(configError(#"{"limits":{"message_per_minute":5}}"#)?.key, "limits.message_per_minute")
        XCTAssertEqual(configError(#"{"limits":{"fail_open":{"tokens":true}}}"#)?.key, "limits.fail_open.tokens")
        XCTAssertEqual(configError(#"{"limits":[]}"#), ConfigError(key: "limits", problem: "must be an object, not an array"))
        XCTAssertEqual(configError(#"{"limits":{"fail_open":true}}"#),
                       ConfigError(key: "limits.fail_open", problem: "must be an object, not a boolean"))
        XCTAssertNil(configError(#"{"limits":{"$comment":"comments are fine","fail_open":{"$why":"here too"}}}"#))
    }

    /// Every `limits` key is explained next to it in config/gateway.json (`$key`, or the `$comment`
    /// inside an object), with the values of `RateLimits()`.
    func testTheShippedConfigDocumentsEveryLimitsKey() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("config/gateway.json"), encoding: .utf8)
        guard case .object(let limits)? = try JSONValue.parse(Array(text.utf8))["limits"] else {
            return XCTFail("config/gateway.json has no limits section")
        }
        for (key, value) in limits where !key.hasPrefix("$") {
            if case .object(let inner) = value {
                XCTAssertNotNil(inner["$comment"], "limits.\(key) has no $comment")
            } else {
                XCTAssertNotNil(limits["$\(key)"], "limits.\(key) has no $\(key)")
            }
        }
        XCTAssertEqual(try loadConfig(text).limits, RateLimits())
    }
}
