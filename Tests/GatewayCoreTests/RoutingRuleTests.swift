import XCTest
@testable import GatewayCore

final class RoutingRuleTests: XCTestCase {
    func testReasonDefaultsToTheConditionsSummary() {
        XCTAssertEqual(RoutingRule(when: RoutingCondition(maxChars: 200), model: "small").reason, "short message (≤ 200 chars)")
        XCTAssertEqual(RoutingRule(when: RoutingCondition(maxChars: 200), model: "small", reason: "FAQ").reason, "FAQ")
    }
}
