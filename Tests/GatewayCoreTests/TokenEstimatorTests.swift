import XCTest
@testable import GatewayCore

/// The usage estimate of docs/protocol.md ("Usage estimates"): 1 token per 4 UTF-8 bytes, rounded
/// up, plus 4 tokens per chat message for input.
final class TokenEstimatorTests: XCTestCase {
    func testOneTokenPerFourBytesRoundedUp() {
        let expected = [0: 0, 1: 1, 3: 1, 4: 1, 5: 2, 8: 2, 9: 3, 400: 100, 401: 101]
        for (bytes, tokens) in expected {
            XCTAssertEqual(TokenEstimator.tokens(utf8Count: bytes), tokens, "\(bytes) bytes")
            XCTAssertEqual(TokenEstimator.tokens(in: String(repeating: "a", count: bytes)), tokens, "\(bytes) ASCII characters")
        }
    }

    func testCountsUTF8BytesNotCharacters() {
        XCTAssertEqual(TokenEstimator.tokens(in: "é"), 1, "2 bytes")
        XCTAssertEqual(TokenEstimator.tokens(in: "ééé"), 2, "6 bytes")
        XCTAssertEqual(TokenEstimator.tokens(in: "日本語"), 3, "9 bytes")
        XCTAssertEqual(TokenEstimator.tokens(in: "😀😀"), 2, "8 bytes")
        XCTAssertEqual(TokenEstimator.tokens(in: "👩‍👩‍👧"), 5, "one character, 18 bytes")
    }

    func testInputAddsFourTokensPerMessage() {
        XCTAssertEqual(TokenEstimator.inputTokens(of: []), 0)
        XCTAssertEqual(TokenEstimator.inputTokens(of: [ChatMessage(role: .user, content: "")]), 4)
        let request = [
            ChatMessage(role: .system, content: "You are a helpful assistant."),  // 28 bytes: 7
            ChatMessage(role: .user, content: "Hi"),                              // 2 bytes: 1
            ChatMessage(role: .assistant, content: "Hello! How can I help?"),     // 22 bytes: 6
            ChatMessage(role: .user, content: "Tell me a joke"),                  // 14 bytes: 4
        ]
        XCTAssertEqual(TokenEstimator.inputTokens(of: request), 7 + 1 + 6 + 4 + 4 * 4)
    }

    /// Rounded per message, not over the whole request.
    func testEachMessageIsRoundedUpOnItsOwn() {
        let oneByteEach = Array(repeating: ChatMessage(role: .user, content: "x"), count: 4)
        XCTAssertEqual(TokenEstimator.inputTokens(of: oneByteEach), 4 * (1 + 4))
    }
}
