import XCTest
@testable import GatewayCore

/// Every config key, one by one: the value it takes is read, values of the wrong type and out of
/// range are refused naming the key's path (e.g. `workers.concurrency`), and null leaves the default.
final class ConfigKeyTests: XCTestCase {
    /// Where a key lives, as a function from its JSON value to a whole config file.
    private typealias Placement = (String) -> String

    private static func nested(_ path: String) -> Placement {
        { value in path.split(separator: ".").reversed().reduce(value) { inner, key in "{\"\(key)\":\(inner)}" } }
    }

    /// Keys whose whole range needs the multi-node mode (`workers.concurrency` 0).
    private static func withRedis(_ path: String) -> Placement {
        { value in
            let parts = path.split(separator: ".")
            return #"{"redis":{"url":"redis://127.0.0.1:6379"},"\#(parts[0])":{"\#(parts[1])":\#(value)}}"#
        }
    }

    private static func inDemoModel(_ key: String) -> Placement {
        { value in #"{"llm":{"models":{"demo":{"provider":"demo","\#(key)":\#(value)}}}}"# }
    }

    private static func inOpenAIModel(_ key: String) -> Placement {
        { value in
            #"{"llm":{"default_model":"up","models":{"up":{"provider":"openai","base_url":"http://h/v1","model":"x","\#(key)":\#(value)}}}}"#
        }
    }

    private static func demo(_ config: GatewayConfig) -> DemoModelConfig? {
        config.llm.models["demo"]?.onlyDemo
    }

    private static func openAI(_ config: GatewayConfig) -> HTTPUpstreamConfig? {
        config.llm.models["up"]?.onlyHTTP
    }

    private static func upDeployment(_ config: GatewayConfig) -> DeploymentConfig? {
        config.llm.models["up"]?.onlyDeployment
    }

    private struct IntegerKey {
        let path: String
        let place: Placement
        let range: ClosedRange<Int>
        let read: (GatewayConfig) -> Int?
        init(_ path: String, _ range: ClosedRange<Int>, place: Placement? = nil, read: @escaping (GatewayConfig) -> Int?) {
            self.path = path
            self.place = place ?? ConfigKeyTests.nested(path)
            self.range = range
            self.read = read
        }
    }

    private let integerKeys: [IntegerKey] = [
        IntegerKey("server.port", 1...65535) { $0.server.port },
        IntegerKey("server.max_message_bytes", 256...(16 << 20)) { $0.server.maxMessageBytes },
        IntegerKey("server.hello_timeout_s", 1...300) { $0.server.helloTimeoutSeconds },
        IntegerKey("server.heartbeat_s", 1...3600) { $0.server.heartbeatSeconds },
        IntegerKey("server.outbound_queue_bytes", 4096...(1 << 30)) { $0.server.outboundQueueBytes },
        IntegerKey("server.echo_max_message_bytes", 1024...(1 << 30)) { $0.server.echoMaxMessageBytes },
        IntegerKey("sessions.max_events", 1...1_000_000) { $0.sessions.maxEvents },
        IntegerKey("sessions.idle_ttl_s", 1...(30 * 86400)) { $0.sessions.idleTTLSeconds },
        IntegerKey("sessions.max_transcript_entries", 2...100_000) { $0.sessions.maxTranscriptEntries },
        IntegerKey("workers.concurrency", 0...10_000, place: withRedis("workers.concurrency")) { $0.workers.concurrency },
        IntegerKey("workers.queue_size", 0...1_000_000) { $0.workers.queueSize },
        IntegerKey("workers.lease_s", 2...3600) { $0.workers.leaseSeconds },
        IntegerKey("redis.command_timeout_ms", 50...60_000) { $0.redis.commandTimeoutMillis },
        IntegerKey("llm.history_messages", 0...10_000) { $0.llm.historyMessages },
        IntegerKey("limits.message_burst", 1...100_000) { $0.limits.messagesPerUser?.burst },
        IntegerKey("limits.connection_burst", 1...100_000) { $0.limits.connectionsPerIP?.burst },
        IntegerKey("limits.llm_output_reserve_tokens", 0...1_000_000) { $0.limits.llmOutputReserveTokens },
        IntegerKey("llm.models.demo.tokens", 1...1_000_000, place: inDemoModel("tokens")) { demo($0)?.tokens },
        IntegerKey("llm.models.up.connect_timeout_ms", 1...600_000, place: inOpenAIModel("connect_timeout_ms")) { upDeployment($0)?.timeouts.connectMillis },
        IntegerKey("llm.models.up.first_token_timeout_ms", 1...3_600_000, place: inOpenAIModel("first_token_timeout_ms")) { upDeployment($0)?.timeouts.firstTokenMillis },
        IntegerKey("llm.models.up.idle_timeout_ms", 1...3_600_000, place: inOpenAIModel("idle_timeout_ms")) { upDeployment($0)?.timeouts.idleMillis },
        IntegerKey("llm.models.up.timeout_s", 1...86_400, place: inOpenAIModel("timeout_s")) { upDeployment($0)?.timeouts.totalSeconds },
        IntegerKey("llm.models.up.max_concurrency", 1...100_000, place: inOpenAIModel("max_concurrency")) { upDeployment($0)?.maxConcurrency },
        IntegerKey("llm.models.up.context_window", 256...100_000_000, place: inOpenAIModel("context_window")) { upDeployment($0)?.contextWindow },
        IntegerKey("llm.models.up.max_tokens", 1...1_000_000, place: inOpenAIModel("max_tokens")) { openAI($0)?.maxTokens },
    ]

    func testIntegerKeysTakeTheirWholeRange() throws {
        for key in integerKeys {
            XCTAssertEqual(key.read(try loadConfig(key.place("\(key.range.lowerBound)"))), key.range.lowerBound, key.path)
            XCTAssertEqual(key.read(try loadConfig(key.place("\(key.range.upperBound)"))), key.range.upperBound, key.path)
        }
    }

    func testIntegerKeysOutOfRangeAreRefusedNamingTheKey() {
        for key in integerKeys {
            let (low, high) = (key.range.lowerBound, key.range.upperBound)
            for value in [low - 1, high + 1] {
                XCTAssertEqual(configError(key.place("\(value)")),
                               ConfigError(key: key.path, problem: "must be between \(low) and \(high), got \(value)"))
            }
        }
    }

    func testIntegerKeysOfAnotherTypeAreRefusedNamingTheKey() {
        for key in integerKeys {
            for (value, typeName) in [(#""12""#, "a string"), ("true", "a boolean"), ("12.5", "a number"), ("[12]", "an array")] {
                XCTAssertEqual(configError(key.place(value)),
                               ConfigError(key: key.path, problem: "must be an integer, not \(typeName)"), "\(key.path) = \(value)")
            }
        }
    }

    func testNullIntegerKeysKeepTheirDefaults() throws {
        let defaults = try loadConfig(#"{"llm":{"default_model":"up","models":{"demo":{"provider":"demo"},"up":{"provider":"openai","base_url":"http://h/v1","model":"x"}}}}"#)
        for key in integerKeys {
            XCTAssertEqual(key.read(try loadConfig(key.place("null"))), key.read(defaults), key.path)
        }
    }

    func testDoubleKeys() throws {
        let tokensPerSecond = Self.inDemoModel("tokens_per_second")
        XCTAssertEqual(Self.demo(try loadConfig(tokensPerSecond("0.1")))?.tokensPerSecond, 0.1)
        XCTAssertEqual(Self.demo(try loadConfig(tokensPerSecond("100000")))?.tokensPerSecond, 100_000, "an integer is a number too")
        XCTAssertEqual(configError(tokensPerSecond("0.09")),
                       ConfigError(key: "llm.models.demo.tokens_per_second", problem: "must be between 0.1 and 100000.0, got 0.09"))
        XCTAssertEqual(configError(tokensPerSecond("100001")),
                       ConfigError(key: "llm.models.demo.tokens_per_second", problem: "must be between 0.1 and 100000.0, got 100001.0"))
        XCTAssertEqual(configError(tokensPerSecond(#""fast""#)),
                       ConfigError(key: "llm.models.demo.tokens_per_second", problem: "must be a number, not a string"))
        XCTAssertEqual(Self.demo(try loadConfig(tokensPerSecond("null")))?.tokensPerSecond, 20)

        let temperature = Self.inOpenAIModel("temperature")
        XCTAssertEqual(Self.openAI(try loadConfig(temperature("0")))?.temperature, 0)
        XCTAssertEqual(Self.openAI(try loadConfig(temperature("2")))?.temperature, 2)
        XCTAssertNil(Self.openAI(try loadConfig(temperature("null")))?.temperature)
        XCTAssertEqual(configError(temperature("2.01")),
                       ConfigError(key: "llm.models.up.temperature", problem: "must be between 0.0 and 2.0, got 2.01"))
        XCTAssertEqual(configError(temperature("-0.5")),
                       ConfigError(key: "llm.models.up.temperature", problem: "must be between 0.0 and 2.0, got -0.5"))
        XCTAssertEqual(configError(temperature("false")),
                       ConfigError(key: "llm.models.up.temperature", problem: "must be a number, not a boolean"))
    }

    func testStringKeys() throws {
        let keys: [(path: String, place: Placement, read: (GatewayConfig) -> String?)] = [
            ("node.id", Self.nested("node.id"), { $0.nodeID }),
            ("server.host", Self.nested("server.host"), { $0.server.host }),
            ("server.static_root", Self.nested("server.static_root"), { $0.server.staticRoot }),
            ("llm.system_prompt", Self.nested("llm.system_prompt"), { $0.llm.systemPrompt }),
            ("llm.models.up.api_key_env", Self.inOpenAIModel("api_key_env"), { Self.openAI($0)?.apiKeyEnv }),
        ]
        for key in keys {
            XCTAssertEqual(key.read(try loadConfig(key.place(#""x y""#))), "x y", key.path)
            for (value, typeName) in [("5", "a number"), ("false", "a boolean"), ("{}", "an object")] {
                XCTAssertEqual(configError(key.place(value)),
                               ConfigError(key: key.path, problem: "must be a string, not \(typeName)"), "\(key.path) = \(value)")
            }
        }
        XCTAssertEqual(configError(#"{"llm":{"default_model":7}}"#),
                       ConfigError(key: "llm.default_model", problem: "must be a string, not a number"))
        let openAIStrings = ["base_url", "model"]
        for name in openAIStrings {
            XCTAssertEqual(configError(Self.inOpenAIModel(name)("1")),
                           ConfigError(key: "llm.models.up.\(name)", problem: "must be a string, not a number"))
        }
    }

    func testBooleanKeys() throws {
        let keys: [(path: String, read: (GatewayConfig) -> Bool)] = [
            ("server.echo_endpoint", { $0.server.echoEndpoint }),
            ("sessions.cancel_on_abandon", { $0.sessions.cancelOnAbandon }),
            ("limits.fail_open.messages", { $0.limits.failOpen.messages }),
            ("limits.fail_open.llm_tokens", { $0.limits.failOpen.llmTokens }),
            ("limits.fail_open.connections", { $0.limits.failOpen.connections }),
        ]
        for key in keys {
            let place = Self.nested(key.path)
            XCTAssertEqual(key.read(try loadConfig(place("true"))), true, key.path)
            XCTAssertEqual(key.read(try loadConfig(place("false"))), false, key.path)
            XCTAssertEqual(key.read(try loadConfig(place("null"))), key.read(GatewayConfig()), "\(key.path): null keeps the default")
            for (value, typeName) in [("1", "a number"), (#""true""#, "a string"), ("[]", "an array")] {
                XCTAssertEqual(configError(place(value)),
                               ConfigError(key: key.path, problem: "must be true or false, not \(typeName)"), "\(key.path) = \(value)")
            }
        }
    }
}
