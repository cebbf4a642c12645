import XCTest
@testable import GatewayCore

final class RoutingInputTests: XCTestCase {
    func testMeasuresTheNewMessage() {
        let input = RoutingInput(message: "Où est ma commande ? 📦", earlierMessages: 3, tenant: "acme")
        XCTAssertEqual(input.characterCount, 22, "characters as people count them, not bytes")
        XCTAssertFalse(input.hasCode)
        XCTAssertEqual(input.earlierMessages, 3)
        XCTAssertEqual(input.tenant, "acme")
        XCTAssertTrue(RoutingInput(message: "```\nx\n```", earlierMessages: 0, tenant: nil).hasCode)
    }

    func testFromARequestsMessagesCountsHistoryWithoutSystemPrompts() {
        let messages = [ChatMessage(role: .system, content: "policy"), ChatMessage(role: .system, content: "notes"),
                        ChatMessage(role: .user, content: "q1"), ChatMessage(role: .assistant, content: "a1"),
                        ChatMessage(role: .user, content: "new one")]
        let input = RoutingInput(messages: messages, tenant: nil)
        XCTAssertEqual(input.earlierMessages, 2)
        XCTAssertEqual(input.characterCount, 7)
        XCTAssertEqual(RoutingInput(messages: [], tenant: nil).characterCount, 0)
    }
}
