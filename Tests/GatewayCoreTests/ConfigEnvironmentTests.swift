import XCTest
@testable import GatewayCore

/// Environment overrides (CHAT_GATEWAY_HOST, _PORT, _NODE_ID, _OPENAI_BASE_URL, _OPENAI_MODEL,
/// _OPENAI_API_KEY): they win over the file, empty values are ignored, and API keys stay out of
/// the config, which only names the variable.
final class ConfigEnvironmentTests: XCTestCase {
    private let fileWithServerAndNode = #"{"node":{"id":"from-file"},"server":{"host":"10.0.0.1","port":9000}}"#

    func testHostPortAndNodeIDOverrideTheFile() throws {
        let config = try loadConfig(fileWithServerAndNode, environment: [
            "CHAT_GATEWAY_HOST": "0.0.0.0", "CHAT_GATEWAY_PORT": "9100", "CHAT_GATEWAY_NODE_ID": "node-env",
        ])
        XCTAssertEqual(config.server.host, "0.0.0.0")
        XCTAssertEqual(config.server.port, 9100)
        XCTAssertEqual(config.nodeID, "node-env")
    }

    func testOverridesApplyWithoutAFile() throws {
        let config = try loadConfig(nil, environment: ["CHAT_GATEWAY_PORT": "1", "CHAT_GATEWAY_HOST": "::"])
        var expected = GatewayConfig()
        expected.server.port = 1
        expected.server.host = "::"
        XCTAssertEqual(config, expected)
    }

    func testEmptyVariablesAreIgnored() throws {
        let config = try loadConfig(fileWithServerAndNode, environment: [
            "CHAT_GATEWAY_HOST": "", "CHAT_GATEWAY_PORT": "", "CHAT_GATEWAY_NODE_ID": "", "CHAT_GATEWAY_OPENAI_BASE_URL": "",
        ])
        XCTAssertEqual(config, try loadConfig(fileWithServerAndNode))
    }

    func testUnrelatedVariablesAreIgnored() throws {
        XCTAssertEqual(try loadConfig(nil, environment: ["PORT": "1", "CHAT_GATEWAY_WORKERS": "x", "HOME": "/root"]), GatewayConfig())
    }

    func testPortMustBeAPortNumber() throws {
        for port in ["0", "65536", "-1", "http", "80x", " 80", "8.5"] {
            XCTAssertEqual(configError(nil, environment: ["CHAT_GATEWAY_PORT": port]),
                           ConfigError(key: "CHAT_GATEWAY_PORT", problem: "must be a port number, got '\(port)'"), port)
        }
        XCTAssertEqual(try loadConfig(nil, environment: ["CHAT_GATEWAY_PORT": "65535"]).server.port, 65535)
    }

    func testOpenAIBaseURLAndModelAddADefaultModelNamedAfterTheUpstreamModel() throws {
        let config = try loadConfig(nil, environment: [
            "CHAT_GATEWAY_OPENAI_BASE_URL": "http://127.0.0.1:8081/v1", "CHAT_GATEWAY_OPENAI_MODEL": "smollm2",
        ])
        XCTAssertEqual(config.llm.defaultModel, "smollm2")
        XCTAssertEqual(config.llm.models["smollm2"],
                       .single("smollm2", id: "openai-env", .http(.openai, HTTPUpstreamConfig(
                           baseURL: "http://127.0.0.1:8081/v1", model: "smollm2", apiKeyEnv: "CHAT_GATEWAY_OPENAI_API_KEY"))))
        XCTAssertEqual(config.llm.models["demo"], .single("demo", .demo(DemoModelConfig())), "the file's models stay available")
    }

    func testTheAPIKeyIsNamedNeverCopied() throws {
        let secret = "sk-test-0123456789abcdef"
        let config = try loadConfig(nil, environment: [
            "CHAT_GATEWAY_OPENAI_BASE_URL": "https://api.example/v1", "CHAT_GATEWAY_OPENAI_MODEL": "gpt-x",
            "CHAT_GATEWAY_OPENAI_API_KEY": secret,
        ])
        guard let model = config.llm.models["gpt-x"]?.onlyHTTP else { return XCTFail("model not added") }
        XCTAssertEqual(model.apiKeyEnv, "CHAT_GATEWAY_OPENAI_API_KEY")
        XCTAssertFalse(String(describing: config).contains(secret))
    }

    func testTheEnvironmentModelReplacesAFileModelOfTheSameName() throws {
        let file = #"{"llm":{"models":{"demo":{"provider":"demo"},"gpt-x":{"provider":"demo","tokens":5}}}}"#
        let config = try loadConfig(file, environment: [
            "CHAT_GATEWAY_OPENAI_BASE_URL": "https://api.example/v1", "CHAT_GATEWAY_OPENAI_MODEL": "gpt-x",
        ])
        XCTAssertEqual(config.llm.defaultModel, "gpt-x")
        XCTAssertEqual(config.llm.models["gpt-x"],
                       .single("gpt-x", id: "openai-env", .http(.openai, HTTPUpstreamConfig(
                           baseURL: "https://api.example/v1", model: "gpt-x", apiKeyEnv: "CHAT_GATEWAY_OPENAI_API_KEY"))))
        XCTAssertEqual(config.llm.models.count, 2)
    }

    func testBaseURLWithoutModelIsRefused() {
        for environment in [["CHAT_GATEWAY_OPENAI_BASE_URL": "http://h/v1"],
                            ["CHAT_GATEWAY_OPENAI_BASE_URL": "http://h/v1", "CHAT_GATEWAY_OPENAI_MODEL": ""]] {
            XCTAssertEqual(configError(nil, environment: environment),
                           ConfigError(key: "CHAT_GATEWAY_OPENAI_MODEL", problem: "must be set when CHAT_GATEWAY_OPENAI_BASE_URL is"))
        }
    }

    func testModelWithoutBaseURLChangesNothing() throws {
        XCTAssertEqual(try loadConfig(nil, environment: ["CHAT_GATEWAY_OPENAI_MODEL": "gpt-x", "CHAT_GATEWAY_OPENAI_API_KEY": "k"]),
                       GatewayConfig())
    }

    /// The refusal names the variable the operator set.
    func testABaseURLThatIsNotHTTPIsRefused() {
        XCTAssertEqual(configError(nil, environment: ["CHAT_GATEWAY_OPENAI_BASE_URL": "127.0.0.1:8081/v1", "CHAT_GATEWAY_OPENAI_MODEL": "m"]),
                       ConfigError(key: "CHAT_GATEWAY_OPENAI_BASE_URL", problem: "must start with http:// or https://"))
    }

    func testFileErrorsComeFirst() {
        XCTAssertEqual(configError(#"{"workers":{"concurrency":-1}}"#, environment: ["CHAT_GATEWAY_PORT": "x"])?.key, "workers.concurrency")
    }

    func testTheRedisURLComesFromTheEnvironment() throws {
        let config = try ConfigLoader.load(json: nil, environment: ["CHAT_GATEWAY_REDIS_URL": "redis://127.0.0.1:6390/2"])
        XCTAssertEqual(config.redis.url, "redis://127.0.0.1:6390/2")
        XCTAssertEqual(configError(nil, environment: ["CHAT_GATEWAY_REDIS_URL": "http://x"])?.key, "redis.url")
    }

    func testNoWorkersNeedsRedis() {
        XCTAssertEqual(configError(#"{"workers":{"concurrency":0}}"#),
                       ConfigError(key: "workers.concurrency", problem: "0 needs redis.url (without Redis no other node could run the turns)"))
    }
}
