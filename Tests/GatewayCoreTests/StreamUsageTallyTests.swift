import XCTest
@testable import GatewayCore

final class StreamUsageTallyTests: XCTestCase {
    private let messages = [ChatMessage(role: .user, content: "12345678")]

    func testNothingReportedIsAllEstimated() {
        var tally = StreamUsageTally(requestMessages: messages)
        tally.countOutput("héllo")  // 6 bytes
        XCTAssertEqual(tally.usage, TokenUsage(inputTokens: 2 + TokenEstimator.tokensPerMessage, outputTokens: 2, estimated: true))
    }

    func testReportedCountsWinAndAMissingOneIsEstimated() {
        var tally = StreamUsageTally(requestMessages: messages)
        tally.countOutput("abcdefghi")
        tally.reportedOutputTokens = 7
        XCTAssertEqual(tally.usage, TokenUsage(inputTokens: tally.estimatedInputTokens, outputTokens: 7, estimated: true))
        tally.reportedInputTokens = 0
        XCTAssertEqual(tally.usage, TokenUsage(inputTokens: 0, outputTokens: 7, estimated: false))
        tally.reportedOutputTokens = nil
        XCTAssertEqual(tally.usage, TokenUsage(inputTokens: 0, outputTokens: 3, estimated: true))
    }
}
