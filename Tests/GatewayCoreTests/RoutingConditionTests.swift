import XCTest
@testable import GatewayCore

final class RoutingConditionTests: XCTestCase {
    private func input(_ message: String, history: Int = 0, tenant: String? = nil) -> RoutingInput {
        RoutingInput(message: message, earlierMessages: history, tenant: tenant)
    }

    func testAnEmptyConditionAlwaysHolds() {
        XCTAssertTrue(RoutingCondition().matches(input("")))
        XCTAssertEqual(RoutingCondition().summary, "always")
    }

    func testCharacterBoundsAreInclusive() {
        let short = RoutingCondition(maxChars: 5)
        XCTAssertTrue(short.matches(input("12345")))
        XCTAssertFalse(short.matches(input("123456")))
        let long = RoutingCondition(minChars: 5)
        XCTAssertTrue(long.matches(input("12345")))
        XCTAssertFalse(long.matches(input("1234")))
    }

    func testHasCodeEitherWay() {
        let code = "```\nlet x = 1\n```"
        XCTAssertTrue(RoutingCondition(hasCode: true).matches(input(code)))
        XCTAssertFalse(RoutingCondition(hasCode: true).matches(input("hello")))
        XCTAssertTrue(RoutingCondition(hasCode: false).matches(input("hello")))
        XCTAssertFalse(RoutingCondition(hasCode: false).matches(input(code)))
    }

    func testKeywordsTenantsAndHistory() {
        XCTAssertTrue(RoutingCondition(keywordsAny: ["refund", "chargeback"]).matches(input("Chargeback filed")))
        XCTAssertFalse(RoutingCondition(keywordsAny: ["refund"]).matches(input("where is it")))

        let tenants = RoutingCondition(tenants: ["acme", "globex"])
        XCTAssertTrue(tenants.matches(input("x", tenant: "globex")))
        XCTAssertFalse(tenants.matches(input("x", tenant: "initech")))
        XCTAssertFalse(tenants.matches(input("x", tenant: nil)), "a turn without a tenant matches no tenant list")

        let history = RoutingCondition(minHistory: 2, maxHistory: 4)
        XCTAssertFalse(history.matches(input("x", history: 1)))
        XCTAssertTrue(history.matches(input("x", history: 2)))
        XCTAssertTrue(history.matches(input("x", history: 4)))
        XCTAssertFalse(history.matches(input("x", history: 5)))
    }

    func testEveryConditionMustHold() {
        let condition = RoutingCondition(maxChars: 40, hasCode: false, keywordsAny: ["invoice"], tenants: ["acme"], maxHistory: 2)
        XCTAssertTrue(condition.matches(input("Where is my invoice?", history: 2, tenant: "acme")))
        XCTAssertFalse(condition.matches(input("Where is my invoice?", history: 3, tenant: "acme")))
        XCTAssertFalse(condition.matches(input("Where is my invoice?", history: 2, tenant: "globex")))
        XCTAssertFalse(condition.matches(input("Where is my receipt?", history: 2, tenant: "acme")))
        XCTAssertFalse(condition.matches(input("Where is my invoice? I have been waiting for weeks", history: 2, tenant: "acme")))
        XCTAssertFalse(condition.matches(input("invoice `x.y()`", history: 0, tenant: "acme")))
    }

    func testSummaryReadsLikeAReason() {
        XCTAssertEqual(RoutingCondition(maxChars: 200).summary, "short message (≤ 200 chars)")
        XCTAssertEqual(RoutingCondition(maxChars: 160, hasCode: false).summary, "short message (≤ 160 chars), no code")
        XCTAssertEqual(RoutingCondition(minChars: 2000).summary, "long message (≥ 2000 chars)")
        XCTAssertEqual(RoutingCondition(maxChars: 500, minChars: 100).summary, "message of 100–500 chars")
        XCTAssertEqual(RoutingCondition(hasCode: true).summary, "has code")
        XCTAssertEqual(RoutingCondition(keywordsAny: ["refund", "chargeback"], tenants: ["acme"]).summary,
                       "mentions refund or chargeback, tenant acme")
        XCTAssertEqual(RoutingCondition(minHistory: 6).summary, "history ≥ 6 messages")
        XCTAssertEqual(RoutingCondition(maxHistory: 2).summary, "history ≤ 2 messages")
        XCTAssertEqual(RoutingCondition(minHistory: 1, maxHistory: 3).summary, "history of 1–3 messages")
    }
}
