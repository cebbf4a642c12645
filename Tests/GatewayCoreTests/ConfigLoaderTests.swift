import Foundation
import XCTest
@testable import GatewayCore

/// `ConfigLoader` as a whole: the defaults, the shipped config files, sections and models, `$`
/// comment keys, and refusals that name the key (unknown keys, wrong shapes, failed validation).
final class ConfigLoaderTests: XCTestCase {
    private func shippedConfig(_ name: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("config").appendingPathComponent(name), encoding: .utf8)
    }

    func testDefaultsWithoutAFile() throws {
        let config = try loadConfig(nil)
        XCTAssertEqual(config, GatewayConfig())
        XCTAssertNil(config.nodeID)
        XCTAssertEqual(config.server.host, "127.0.0.1")
        XCTAssertEqual(config.server.port, 8080)
        XCTAssertEqual(config.server.staticRoot, "web-demo")
        XCTAssertEqual(config.server.maxMessageBytes, 65_536)
        XCTAssertEqual(config.server.helloTimeoutSeconds, 10)
        XCTAssertEqual(config.server.heartbeatSeconds, 25)
        XCTAssertEqual(config.server.outboundQueueBytes, 1_048_576)
        XCTAssertEqual(config.server.echoEndpoint, false)
        XCTAssertEqual(config.server.echoMaxMessageBytes, 16_777_216)
        XCTAssertEqual(config.sessions.maxEvents, 4096)
        XCTAssertEqual(config.sessions.idleTTLSeconds, 3600)
        XCTAssertEqual(config.sessions.cancelOnAbandon, false)
        XCTAssertEqual(config.sessions.maxTranscriptEntries, 1000)
        XCTAssertEqual(config.workers.concurrency, 16)
        XCTAssertEqual(config.workers.queueSize, 64)
        XCTAssertEqual(config.llm.defaultModel, "demo")
        XCTAssertEqual(config.llm.systemPrompt, "You are a helpful assistant.")
        XCTAssertEqual(config.llm.historyMessages, 40)
        XCTAssertEqual(Array(config.llm.models.keys), ["demo"])
        guard let demo = config.llm.models["demo"]?.onlyDemo else { return XCTFail("demo model missing") }
        XCTAssertEqual(demo.tokensPerSecond, 20)
        XCTAssertEqual(demo.tokens, 60)
    }

    func testEmptyObjectAndNullSectionsKeepTheDefaults() throws {
        XCTAssertEqual(try loadConfig("{}"), GatewayConfig())
        XCTAssertEqual(try loadConfig(#"{"node":null,"server":null,"sessions":{},"workers":null,"llm":{}}"#), GatewayConfig())
    }

    /// config/gateway.json documents every key with its default; the two must not drift apart.
    func testTheShippedGatewayJSONIsTheDefaults() throws {
        XCTAssertEqual(try loadConfig(try shippedConfig("gateway.json")), GatewayConfig())
    }

    /// Equal defaults are not enough: a section left out of config/gateway.json loads to its defaults
    /// too. Every key the loader takes must be written there (with its default), so it is documented.
    func testTheShippedGatewayJSONWritesEveryKey() throws {
        let document = try JSONValue.parse(Array(try shippedConfig("gateway.json").utf8))
        let expected: [String: [String]] = [
            "": ["node", "server", "sessions", "workers", "llm", "usage", "budgets", "limits"],
            "node": ["id"],
            "server": ["host", "port", "static_root", "max_message_bytes", "hello_timeout_s", "heartbeat_s",
                       "outbound_queue_bytes", "echo_endpoint", "echo_max_message_bytes"],
            "sessions": ["max_events", "idle_ttl_s", "cancel_on_abandon", "max_transcript_entries"],
            "workers": ["concurrency", "queue_size"],
            "llm": ["default_model", "system_prompt", "history_messages", "retry", "models", "routing", "cache"],
            "llm.retry": ["budget_ms", "attempts_per_deployment", "backoff_base_ms", "backoff_max_ms", "max_retry_after_ms",
                          "cooldown_ms"],
            "llm.routing": ["tenants", "rules"],
            "llm.cache": ["enabled", "ttl_s", "max_entries", "max_bytes"],
            "usage": ["log_path"],
            "budgets": ["default_cost_per_day", "tenants"],
            "limits": ["messages_per_minute", "message_burst", "llm_tokens_per_minute_per_user",
                       "llm_tokens_per_minute_per_tenant", "llm_output_reserve_tokens", "connections_per_minute_per_ip",
                       "connection_burst", "fail_open"],
            "limits.fail_open": ["messages", "llm_tokens", "connections"],
        ]
        for (path, keys) in expected {
            var section: JSONValue? = document
            for part in path.split(separator: ".") { section = section?[String(part)] }
            guard case .object(let members)? = section else {
                XCTFail("config/gateway.json has no section '\(path)'")
                continue
            }
            for key in keys where members[key] == nil {
                XCTFail("config/gateway.json does not document \(path.isEmpty ? key : "\(path).\(key)")")
            }
        }
    }

    /// The `$example-…` models and the `$acme` budget in config/gateway.json are commented out; with
    /// their `$` dropped they must load, so the documented examples stay valid.
    func testTheShippedExamplesLoadWhenUncommented() throws {
        let text = try shippedConfig("gateway.json")
            .replacingOccurrences(of: "\"$example-", with: "\"example-")
            .replacingOccurrences(of: "\"$acme\"", with: "\"acme\"")
        let config = try loadConfig(text)
        XCTAssertEqual(config.llm.models["example-openai"]?.fallbacks, ["demo"])
        XCTAssertEqual(config.llm.models["example-several-deployments"]?.deployments.map(\.provider), [.anthropic, .ollama])
        XCTAssertEqual(config.budgets.costPerDay["acme"], 25)
    }

    func testTheShippedLocalLLMConfig() throws {
        let config = try loadConfig(try shippedConfig("local-llm.json"))
        var smollm = HTTPUpstreamConfig(baseURL: "http://127.0.0.1:8081/v1", model: "smollm2")
        smollm.maxTokens = 256
        XCTAssertEqual(config.llm.defaultModel, "smollm2")
        XCTAssertEqual(config.llm.models, ["smollm2": .single("smollm2", .http(.openai, smollm))])
        XCTAssertEqual(config.server, GatewayConfig().server)
    }

    func testEveryKeyIsRead() throws {
        let config = try loadConfig(#"""
        {"node": {"id": "node-a"},
         "server": {"host": "0.0.0.0", "port": 9000, "static_root": "public", "max_message_bytes": 1024,
                    "hello_timeout_s": 5, "heartbeat_s": 30, "outbound_queue_bytes": 8192, "echo_endpoint": true,
                    "echo_max_message_bytes": 2048},
         "sessions": {"max_events": 10, "idle_ttl_s": 60, "cancel_on_abandon": true, "max_transcript_entries": 20},
         "workers": {"concurrency": 2, "queue_size": 0},
         "llm": {"default_model": "up", "system_prompt": "Be brief.", "history_messages": 0,
                 "models": {"fake": {"provider": "demo", "tokens_per_second": 2.5, "tokens": 7},
                            "up": {"provider": "openai", "base_url": "https://api.example/v1", "model": "gpt-x",
                                   "api_key_env": "UP_KEY", "connect_timeout_ms": 100, "timeout_s": 9,
                                   "max_tokens": 64, "temperature": 0.7}}}}
        """#)
        var expected = GatewayConfig()
        expected.nodeID = "node-a"
        expected.server.host = "0.0.0.0"
        expected.server.port = 9000
        expected.server.staticRoot = "public"
        expected.server.maxMessageBytes = 1024
        expected.server.helloTimeoutSeconds = 5
        expected.server.heartbeatSeconds = 30
        expected.server.outboundQueueBytes = 8192
        expected.server.echoEndpoint = true
        expected.server.echoMaxMessageBytes = 2048
        expected.sessions = GatewayConfig.Sessions(maxEvents: 10, idleTTLSeconds: 60, cancelOnAbandon: true, maxTranscriptEntries: 20)
        expected.workers = GatewayConfig.Workers(concurrency: 2, queueSize: 0)
        var fake = DemoModelConfig()
        fake.tokensPerSecond = 2.5
        fake.tokens = 7
        var up = HTTPUpstreamConfig(baseURL: "https://api.example/v1", model: "gpt-x", apiKeyEnv: "UP_KEY")
        up.maxTokens = 64
        up.temperature = 0.7
        var upDeployment = DeploymentConfig(id: "up", backend: .http(.openai, up))
        upDeployment.timeouts.connectMillis = 100
        upDeployment.timeouts.totalSeconds = 9
        expected.llm = GatewayConfig.LLM(defaultModel: "up", systemPrompt: "Be brief.", historyMessages: 0,
                                         models: ["fake": .single("fake", .demo(fake)),
                                                  "up": ModelConfig(name: "up", deployments: [upDeployment])])
        XCTAssertEqual(config, expected)
    }

    func testOpenAIModelDefaults() throws {
        let config = try loadConfig(#"{"llm":{"default_model":"up","models":{"up":{"provider":"openai","base_url":"http://h/v1","model":"m"}}}}"#)
        XCTAssertEqual(config.llm.models["up"], .single("up", .http(.openai, HTTPUpstreamConfig(baseURL: "http://h/v1", model: "m"))))
        guard let deployment = config.llm.models["up"]?.onlyDeployment, let up = config.llm.models["up"]?.onlyHTTP else {
            return XCTFail("not an OpenAI model")
        }
        XCTAssertNil(up.apiKeyEnv)
        XCTAssertEqual(deployment.timeouts, DeploymentTimeouts())
        XCTAssertEqual(deployment.timeouts.connectMillis, 5000)
        XCTAssertEqual(deployment.timeouts.totalSeconds, 300)
        XCTAssertNil(deployment.maxConcurrency)
        XCTAssertNil(up.maxTokens)
        XCTAssertNil(up.temperature)
    }

    func testStaticRootNullServesNoFiles() throws {
        XCTAssertNil(try loadConfig(#"{"server":{"static_root":null}}"#).server.staticRoot)
        XCTAssertEqual(try loadConfig(#"{"server":{}}"#).server.staticRoot, "web-demo")
    }

    func testNodeIDNullIsUnset() throws {
        XCTAssertNil(try loadConfig(#"{"node":{"id":null}}"#).nodeID)
    }

    func testModelsInTheFileReplaceTheBuiltInOnes() throws {
        let config = try loadConfig(#"{"llm":{"default_model":"slow","models":{"slow":{"provider":"demo","tokens_per_second":1}}}}"#)
        XCTAssertEqual(Array(config.llm.models.keys), ["slow"])
        XCTAssertEqual(configError(#"{"llm":{"models":{"slow":{"provider":"demo"}}}}"#),
                       ConfigError(key: "llm.default_model", problem: "'demo' is not in llm.models (slow)"))
    }

    func testDollarKeysAreCommentsAtEveryLevel() throws {
        let config = try loadConfig(#"""
        {"$comment": "top", "$anything": [1, 2],
         "node": {"$id": "about id"}, "server": {"$port": 1, "port": 9001}, "sessions": {"$x": null},
         "workers": {"$concurrency": "many"},
         "llm": {"$default_model": "x", "models": {"demo": {"provider": "demo", "$comment": 5},
                                                   "$example": {"provider": "nonsense", "extra": true},
                                                   "$broken": 42}}}
        """#)
        var expected = GatewayConfig()
        expected.server.port = 9001
        XCTAssertEqual(config, expected)
    }

    func testUnknownKeysAreRefusedByTheirPath() {
        let cases: [(json: String, key: String)] = [
            (#"{"nodes":{}}"#, "nodes"),
            (#"{"node":{"name":"a"}}"#, "node.name"),
            (#"{"server":{"hostname":"a"}}"#, "server.hostname"),
            (#"{"sessions":{"max_event":1}}"#, "sessions.max_event"),
            (#"{"workers":{"threads":1}}"#, "workers.threads"),
            (#"{"llm":{"model":"demo"}}"#, "llm.model"),
            (#"{"llm":{"models":{"demo":{"provider":"demo","base_urls":"http://h"}}}}"#, "llm.models.demo.base_urls"),
            (#"{"llm":{"default_model":"up","models":{"up":{"deployments":[{"provider":"openai","base_url":"http://h","model":"m","token":1}]}}}}"#,
             "llm.models.up.deployments[0].token"),
            (#"{"llm":{"default_model":"up","models":{"up":{"deployments":[],"fallback":[]}}}}"#, "llm.models.up.fallback"),
        ]
        for (json, key) in cases {
            let error = configError(json)
            XCTAssertEqual(error?.key, key, json)
            XCTAssertEqual(error?.problem.hasPrefix("unknown key (allowed: "), true, "\(String(describing: error))")
        }
        XCTAssertEqual(configError(#"{"workers":{"threads":1}}"#)?.problem, "unknown key (allowed: concurrency, lease_s, queue_size)")
    }

    func testSettingsOfTheOtherKindOfProviderAreRefused() {
        XCTAssertEqual(configError(#"{"llm":{"models":{"demo":{"provider":"demo","base_url":"http://h"}}}}"#),
                       ConfigError(key: "llm.models.demo.base_url", problem: "not a setting of the demo provider"))
        XCTAssertEqual(configError(#"{"llm":{"default_model":"up","models":{"up":{"provider":"openai","base_url":"http://h","model":"m","tokens":1}}}}"#),
                       ConfigError(key: "llm.models.up.tokens", problem: "only the demo provider has this setting"))
    }

    func testDeploymentsFallbacksAndTheirChecks() throws {
        let config = try loadConfig(#"""
        {"llm": {"default_model": "big", "retry": {"budget_ms": 5000, "attempts_per_deployment": 3},
                 "models": {
                   "big": {"deployments": [
                              {"provider": "openai", "base_url": "http://a/v1", "model": "m", "max_concurrency": 4,
                               "price": {"input_usd_per_million": 3, "output_usd_per_million": 15}, "context_window": 8192},
                              {"id": "big-b", "provider": "anthropic", "base_url": "http://b", "model": "claude",
                               "idle_timeout_ms": 1500, "first_token_timeout_ms": 2500}],
                           "fallbacks": ["small"]},
                   "small": {"provider": "ollama", "base_url": "http://c", "model": "llama3"}}}}
        """#)
        let big = try XCTUnwrap(config.llm.models["big"])
        XCTAssertEqual(big.deployments.map(\.id), ["big#1", "big-b"])
        XCTAssertEqual(big.deployments.map(\.provider), [.openai, .anthropic])
        XCTAssertEqual(big.fallbacks, ["small"])
        XCTAssertEqual(big.deployments[0].maxConcurrency, 4)
        XCTAssertEqual(big.deployments[0].price, Price(inputUSDPerMillion: 3, outputUSDPerMillion: 15))
        XCTAssertEqual(big.deployments[0].contextWindow, 8192)
        XCTAssertEqual(big.deployments[1].timeouts.idleMillis, 1500)
        XCTAssertEqual(big.deployments[1].timeouts.firstTokenMillis, 2500)
        XCTAssertEqual(config.llm.models["small"]?.onlyDeployment?.provider, .ollama)
        XCTAssertEqual(config.llm.retry.budgetMillis, 5000)
        XCTAssertEqual(config.llm.retry.attemptsPerDeployment, 3)

        let model = { (body: String) in #"{"llm":{"default_model":"m","models":{"m":\#(body),"d":{"provider":"demo"}}}}"# }
        XCTAssertEqual(configError(model(#"{"provider":"demo","fallbacks":["nope"]}"#)),
                       ConfigError(key: "llm.models.m.fallbacks", problem: "'nope' is not in llm.models"))
        XCTAssertEqual(configError(model(#"{"provider":"demo","fallbacks":["m"]}"#)),
                       ConfigError(key: "llm.models.m.fallbacks", problem: "a model cannot fall back to itself"))
        XCTAssertEqual(configError(model(#"{"provider":"demo","fallbacks":[3]}"#)),
                       ConfigError(key: "llm.models.m.fallbacks[0]", problem: "must be a non-empty string, not a number"))
        XCTAssertEqual(configError(model(#"{"deployments":[]}"#)),
                       ConfigError(key: "llm.models.m.deployments", problem: "must list at least one deployment"))
        XCTAssertEqual(configError(model(#"{"provider":"demo","id":"d"}"#)),
                       ConfigError(key: "llm.models.m", problem: "deployment id 'd' is also used by model 'd'"))
        XCTAssertEqual(configError(model(#"{"provider":"demo","price":{"input":1}}"#))?.key, "llm.models.m.price.input")
        XCTAssertEqual(configError(model(#"{"provider":"demo","price":{"input_usd_per_million":1}}"#))?.key,
                       "llm.models.m.price.output_usd_per_million")
        XCTAssertEqual(configError(#"{"llm":{"retry":{"budget":1}}}"#)?.key, "llm.retry.budget")
    }

    /// A context window the reply reserve (max_tokens) or the system prompt already fills would make
    /// every turn of the model fail at run time (context_too_large): start-up refuses it instead.
    func testAContextWindowThatLeavesNoRoomForAMessageIsRefused() throws {
        let up = { (extra: String, prompt: String) in
            #"{"llm":{"default_model":"up","system_prompt":"\#(prompt)","models":{"up":{"provider":"openai","base_url":"http://h/v1","model":"m",\#(extra)}}}}"#
        }
        let reserve = configError(up(#""context_window":256,"max_tokens":512"#, "Be brief."))
        XCTAssertEqual(reserve?.key, "llm.models.up.context_window")
        XCTAssertTrue(reserve?.problem.contains("max_tokens") ?? false, "\(String(describing: reserve))")
        let prompt = configError(up(#""context_window":300"#, String(repeating: "x", count: 1200)))
        XCTAssertEqual(prompt?.key, "llm.models.up.context_window")
        XCTAssertTrue(prompt?.problem.contains("system prompt") ?? false, "\(String(describing: prompt))")
        let several = configError(#"{"llm":{"default_model":"m","models":{"m":{"deployments":[{"provider":"openai","base_url":"http://h/v1","model":"a"},{"id":"tight","provider":"openai","base_url":"http://h/v1","model":"b","context_window":1000,"max_tokens":1000}]}}}}"#)
        XCTAssertEqual(several?.key, "llm.models.m.context_window")
        XCTAssertTrue(several?.problem.contains("'tight'") ?? false, "\(String(describing: several))")
        // What fits loads: a reply reserve under the window, and room left for the prompt and a message.
        XCTAssertNoThrow(try loadConfig(up(#""context_window":400,"max_tokens":100"#, "Be brief.")))
        XCTAssertNoThrow(try loadConfig(up(#""context_window":256"#, "Be brief.")))
    }

    func testSectionsMustBeObjects() {
        XCTAssertEqual(configError(#"{"server":5}"#), ConfigError(key: "server", problem: "must be an object, not a number"))
        XCTAssertEqual(configError(#"{"llm":{"models":[]}}"#), ConfigError(key: "llm.models", problem: "must be an object, not an array"))
        XCTAssertEqual(configError(#"{"llm":{"models":{"demo":"demo"}}}"#),
                       ConfigError(key: "llm.models.demo", problem: "must be an object, not a string"))
        let root = configError("[]")
        XCTAssertEqual(root, ConfigError(key: "", problem: "must be an object, not an array"))
        XCTAssertEqual(root?.description, "config: must be an object, not an array")
    }

    func testInvalidJSONIsRefused() {
        let error = configError(#"{"server": {"port": 80,}}"#)
        XCTAssertEqual(error?.key, "")
        XCTAssertEqual(error?.problem.hasPrefix("invalid JSON at byte "), true, "\(String(describing: error))")
    }

    func testModelsNeedAKnownProviderAndOpenAIModelsTheirEndpoint() {
        let models = { (body: String) in #"{"llm":{"default_model":"m","models":{"m":\#(body)}}}"# }
        XCTAssertEqual(configError(models("{}")),
                       ConfigError(key: "llm.models.m.provider", problem: "missing (one of: demo, openai, anthropic, ollama)"))
        XCTAssertEqual(configError(models(#"{"provider":"gemini"}"#)),
                       ConfigError(key: "llm.models.m.provider", problem: "unknown provider 'gemini' (one of: demo, openai, anthropic, ollama)"))
        XCTAssertEqual(configError(models(#"{"provider":"anthropic"}"#)),
                       ConfigError(key: "llm.models.m.base_url", problem: "missing (e.g. https://api.anthropic.com)"))
        XCTAssertEqual(configError(models(#"{"provider":1}"#)),
                       ConfigError(key: "llm.models.m.provider", problem: "must be a string, not a number"))
        XCTAssertEqual(configError(models(#"{"provider":"openai","model":"x"}"#)),
                       ConfigError(key: "llm.models.m.base_url", problem: "missing (e.g. http://127.0.0.1:8081/v1)"))
        XCTAssertEqual(configError(models(#"{"provider":"openai","base_url":"http://h/v1"}"#)),
                       ConfigError(key: "llm.models.m.model", problem: "missing (the upstream model name)"))
        XCTAssertEqual(configError(models(#"{"provider":"openai","base_url":"ftp://h/v1","model":"x"}"#)),
                       ConfigError(key: "llm.models.m.base_url", problem: "must start with http:// or https://"))
    }

    func testDefaultModelMustBeAConfiguredModel() {
        XCTAssertEqual(configError(#"{"llm":{"default_model":"gpt"}}"#),
                       ConfigError(key: "llm.default_model", problem: "'gpt' is not in llm.models (demo)"))
        XCTAssertEqual(configError(#"{"llm":{"models":{"$example":{}}}}"#),
                       ConfigError(key: "llm.default_model", problem: "'demo' is not in llm.models ()"))
    }

    func testHostMustNotBeEmpty() {
        XCTAssertEqual(configError(#"{"server":{"host":""}}"#), ConfigError(key: "server.host", problem: "must not be empty"))
    }

    func testErrorsDescribeTheirKey() {
        XCTAssertEqual(ConfigError(key: "workers.concurrency", problem: "must be between 1 and 10000, got 0").description,
                       "config key 'workers.concurrency': must be between 1 and 10000, got 0")
    }
}
