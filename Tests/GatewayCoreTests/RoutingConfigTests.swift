import XCTest
@testable import GatewayCore

final class RoutingConfigTests: XCTestCase {
    private func parse(_ json: String) throws(ConfigError) -> RoutingConfig {
        let value: JSONValue
        do { value = try JSONValue.parse(json) } catch { throw ConfigError(key: "test", problem: "bad JSON in test: \(error)") }
        return try RoutingConfig.parse(value)
    }

    private func assertRefused(_ json: String, key: String, mentioning words: String, line: UInt = #line) {
        XCTAssertThrowsError(try parse(json), line: line) { error in
            let configError = error as? ConfigError
            XCTAssertEqual(configError?.key, key, line: line)
            XCTAssertTrue(configError?.problem.contains(words) == true, "\(configError?.problem ?? "?")", line: line)
        }
    }

    func testTheDocumentedExample() throws {
        let config = try parse("""
        {"tenants": {"acme": "large"}, "rules": [
          {"when": {"max_chars": 160, "has_code": false}, "model": "small", "reason": "short question"},
          {"when": {"has_code": true}, "model": "large"}]}
        """)
        XCTAssertEqual(config.tenantModels, ["acme": "large"])
        XCTAssertEqual(config.rules, [
            RoutingRule(when: RoutingCondition(maxChars: 160, hasCode: false), model: "small", reason: "short question"),
            RoutingRule(when: RoutingCondition(hasCode: true), model: "large"),
        ])
        XCTAssertEqual(config.rules[1].reason, "has code")
        XCTAssertEqual(config.path, "llm.routing")

        let router = config.router(defaultModel: "medium")
        XCTAssertEqual(router.route(RoutingInput(message: "hi", earlierMessages: 0, tenant: nil)).model, "small")
        XCTAssertEqual(router.route(RoutingInput(message: "hi", earlierMessages: 0, tenant: "acme")).model, "large")
        XCTAssertEqual(router.defaultModel, "medium")
    }

    func testEveryConditionKey() throws {
        let config = try parse("""
        {"rules": [{"$why": "documented", "when": {"min_chars": 10, "max_chars": 20, "has_code": null, "keywords_any": ["refund", "charge back"],
                     "tenant": ["acme", "globex"], "min_history": 1, "max_history": 8}, "model": "m"},
                   {"when": {"tenant": "initech"}, "model": "n"},
                   {"model": "catch-all"}]}
        """)
        XCTAssertEqual(config.rules[0].condition, RoutingCondition(maxChars: 20, minChars: 10, keywordsAny: ["refund", "charge back"],
                                                                   tenants: ["acme", "globex"], minHistory: 1, maxHistory: 8))
        XCTAssertEqual(config.rules[1].condition.tenants, ["initech"])
        XCTAssertEqual(config.rules[2].condition, RoutingCondition())
        XCTAssertEqual(config.rules[2].reason, "always")
    }

    func testAbsentOrNullSectionRoutesNothing() throws {
        XCTAssertEqual(try RoutingConfig.parse(nil), RoutingConfig())
        XCTAssertEqual(try RoutingConfig.parse(.null), RoutingConfig())
        XCTAssertEqual(try parse("{}"), RoutingConfig())
        XCTAssertEqual(try parse(#"{"rules": null, "tenants": null}"#), RoutingConfig())
    }

    func testUnknownKeysAreNamedWithTheirPath() {
        assertRefused(#"{"rules": [{"when": {"max_char": 160}, "model": "small"}]}"#,
                      key: "llm.routing.rules[0].when.max_char", mentioning: "unknown key")
        assertRefused(#"{"rules": [{"model": "a"}, {"model": "b", "resaon": "x"}]}"#,
                      key: "llm.routing.rules[1].resaon", mentioning: "unknown key")
        assertRefused(#"{"rule": []}"#, key: "llm.routing.rule", mentioning: "allowed: rules, tenants")
    }

    func testWrongTypesAreNamed() {
        assertRefused(#"{"rules": [{"when": {"max_chars": "160"}, "model": "s"}]}"#,
                      key: "llm.routing.rules[0].when.max_chars", mentioning: "must be an integer, not a string")
        assertRefused(#"{"rules": [{"when": {"has_code": "yes"}, "model": "s"}]}"#,
                      key: "llm.routing.rules[0].when.has_code", mentioning: "true or false")
        assertRefused(#"{"rules": [{"when": {"keywords_any": "refund"}, "model": "s"}]}"#,
                      key: "llm.routing.rules[0].when.keywords_any", mentioning: "a list of strings")
        assertRefused(#"{"rules": [{"when": {"keywords_any": ["refund", 3]}, "model": "s"}]}"#,
                      key: "llm.routing.rules[0].when.keywords_any[1]", mentioning: "must be a string, not a number")
        assertRefused(#"{"rules": [{"when": {"tenant": 7}, "model": "s"}]}"#,
                      key: "llm.routing.rules[0].when.tenant", mentioning: "a string or a list of strings")
        assertRefused(#"{"rules": [{"when": [], "model": "s"}]}"#, key: "llm.routing.rules[0].when", mentioning: "must be an object")
        assertRefused(#"{"rules": {"model": "s"}}"#, key: "llm.routing.rules", mentioning: "must be a list of rules")
        assertRefused(#"{"rules": [{"model": "s"}, "small"]}"#, key: "llm.routing.rules[1]", mentioning: "must be an object")
        assertRefused(#"{"rules": [{"model": 3}]}"#, key: "llm.routing.rules[0].model", mentioning: "model name")
        assertRefused(#"{"tenants": {"acme": ["large"]}}"#, key: "llm.routing.tenants.acme", mentioning: "model name")
        assertRefused(#"{"tenants": []}"#, key: "llm.routing.tenants", mentioning: "must be an object")
    }

    func testMissingOrEmptyValuesAreRefused() {
        assertRefused(#"{"rules": [{"when": {}}]}"#, key: "llm.routing.rules[0].model", mentioning: "missing")
        assertRefused(#"{"rules": [{"model": ""}]}"#, key: "llm.routing.rules[0].model", mentioning: "empty")
        assertRefused(#"{"rules": [{"model": "s", "reason": ""}]}"#, key: "llm.routing.rules[0].reason", mentioning: "empty")
        assertRefused(#"{"rules": [{"when": {"keywords_any": []}, "model": "s"}]}"#,
                      key: "llm.routing.rules[0].when.keywords_any", mentioning: "empty")
        assertRefused(#"{"rules": [{"when": {"keywords_any": ["ok", " * "]}, "model": "s"}]}"#,
                      key: "llm.routing.rules[0].when.keywords_any[1]", mentioning: "empty")
        assertRefused(#"{"rules": [{"when": {"tenant": " "}, "model": "s"}]}"#,
                      key: "llm.routing.rules[0].when.tenant", mentioning: "empty")
    }

    func testBoundsThatNoMessageCouldMeetAreRefused() {
        assertRefused(#"{"rules": [{"when": {"max_chars": -1}, "model": "s"}]}"#,
                      key: "llm.routing.rules[0].when.max_chars", mentioning: "between 0")
        assertRefused(#"{"rules": [{"when": {"min_chars": 500, "max_chars": 100}, "model": "s"}]}"#,
                      key: "llm.routing.rules[0].when.min_chars", mentioning: "must not exceed max_chars")
        assertRefused(#"{"rules": [{"when": {"min_history": 5, "max_history": 4}, "model": "s"}]}"#,
                      key: "llm.routing.rules[0].when.min_history", mentioning: "must not exceed max_history")
    }

    func testValidationNamesTheRuleOrTenantWithAnUnknownModel() throws {
        let config = try parse(#"{"tenants": {"acme": "large", "globex": "huge"}, "rules": [{"model": "small"}, {"model": "tiny"}]}"#)
        XCTAssertThrowsError(try config.validate(knownModels: ["small", "large", "huge"])) { error in
            XCTAssertEqual(error as? ConfigError, ConfigError(key: "llm.routing.rules[1].model", problem: "unknown model 'tiny' (known: huge, large, small)"))
        }
        XCTAssertThrowsError(try config.validate(knownModels: ["small", "large", "tiny"])) { error in
            XCTAssertEqual((error as? ConfigError)?.key, "llm.routing.tenants.globex")
        }
        XCTAssertNoThrow(try config.validate(knownModels: ["small", "large", "tiny", "huge"]))
    }

    func testTheSectionPathIsTheCallersChoice() throws {
        XCTAssertThrowsError(try RoutingConfig.parse(JSONValue.parse(#"{"x": 1}"#), path: "routing")) { error in
            XCTAssertEqual((error as? ConfigError)?.key, "routing.x")
        }
        let config = try RoutingConfig.parse(JSONValue.parse(#"{"rules": [{"model": "m"}]}"#), path: "routing")
        XCTAssertThrowsError(try config.validate(knownModels: [])) { error in
            XCTAssertEqual((error as? ConfigError)?.key, "routing.rules[0].model")
        }
    }
}
