import XCTest
@testable import GatewayCore

final class ModelRouterTests: XCTestCase {
    private let router = ModelRouter(
        defaultModel: "medium",
        tenantModels: ["acme": "large"],
        rules: [
            RoutingRule(when: RoutingCondition(hasCode: true), model: "large"),
            RoutingRule(when: RoutingCondition(maxChars: 160, hasCode: false), model: "small", reason: "short question"),
            RoutingRule(when: RoutingCondition(maxChars: 400), model: "never-reached-for-short"),
        ])

    private func route(_ message: String, tenant: String? = nil) -> RoutingDecision {
        router.route(RoutingInput(message: message, earlierMessages: 0, tenant: tenant))
    }

    func testFirstMatchingRuleWins() {
        XCTAssertEqual(route("How do I reset my password?"), RoutingDecision(model: "small", reason: "short question"))
        XCTAssertEqual(route("```\nprint(1)\n```"), RoutingDecision(model: "large", reason: "has code"))
        XCTAssertEqual(route(String(repeating: "a", count: 300)),
                       RoutingDecision(model: "never-reached-for-short", reason: "short message (≤ 400 chars)"))
    }

    func testNoMatchingRuleGivesTheDefault() {
        XCTAssertEqual(route(String(repeating: "long complaint ", count: 40)), RoutingDecision(model: "medium", reason: "default"))
        XCTAssertEqual(ModelRouter(defaultModel: "only").route(RoutingInput(message: "hi", earlierMessages: 0, tenant: "acme")),
                       RoutingDecision(model: "only", reason: "default"))
    }

    func testATenantOverrideComesBeforeTheRules() {
        XCTAssertEqual(route("How do I reset my password?", tenant: "acme"), RoutingDecision(model: "large", reason: "tenant acme override"))
        XCTAssertEqual(route("How do I reset my password?", tenant: "globex").model, "small")
    }
}
