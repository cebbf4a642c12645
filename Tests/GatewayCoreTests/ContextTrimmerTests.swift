import XCTest
@testable import GatewayCore

final class ContextTrimmerTests: XCTestCase {
    private func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: text) }
    private func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: text) }
    private func assistant(_ text: String) -> ChatMessage { ChatMessage(role: .assistant, content: text) }
    /// Text that estimates to exactly `tokens` tokens (4 ASCII bytes each).
    private func text(tokens: Int, _ letter: Character = "x") -> String { String(repeating: letter, count: tokens * 4) }

    private func trimmer(budget: Int) -> ContextTrimmer { ContextTrimmer(contextWindow: budget + 100, outputReserve: 100) }

    func testBudgetIsTheWindowMinusTheReplyReserve() {
        XCTAssertEqual(ContextTrimmer(contextWindow: 8192, outputReserve: 1024).inputBudget, 7168)
    }

    func testMessagesThatFitAreSentUnchanged() throws {
        let messages = [system(text(tokens: 10)), user(text(tokens: 10)), assistant(text(tokens: 10)), user(text(tokens: 10))]
        // 4 messages × (10 + 4 framing) = 56 tokens: exactly the budget still fits.
        let result = try trimmer(budget: 56).trim(messages)
        XCTAssertEqual(result, TrimmedContext(messages: messages, droppedMessages: 0, droppedTokens: 0, newestMessageCut: false))
        XCTAssertEqual(result.estimatedInputTokens, 56)
    }

    func testOneTokenOverDropsTheOldestExchange() throws {
        let messages = [system(text(tokens: 10)), user("q1"), assistant("a1"), user("q2"), assistant("a2"), user(text(tokens: 10))]
        let budget = TokenEstimator.inputTokens(of: messages) - 1
        let result = try trimmer(budget: budget).trim(messages)
        XCTAssertEqual(result.messages, [messages[0], user("q2"), assistant("a2"), messages[5]])
        XCTAssertEqual(result.droppedMessages, 2)
        XCTAssertEqual(result.droppedTokens, 2 * (1 + 4))
        XCTAssertFalse(result.newestMessageCut)
    }

    func testDropsOldestFirstAndOnlyAsMuchAsNeeded() throws {
        let messages = [system("sys"), user(text(tokens: 20, "a")), assistant(text(tokens: 20, "b")),
                        user(text(tokens: 20, "c")), assistant(text(tokens: 20, "d")),
                        user(text(tokens: 20, "e")), assistant(text(tokens: 20, "f")), user("newest")]
        // Everything is 6 × 24 + 5 + 6 = 155; without the first exchange 107, without two 59.
        XCTAssertEqual(try trimmer(budget: 107).trim(messages).messages, [messages[0]] + messages[3...])
        XCTAssertEqual(try trimmer(budget: 106).trim(messages).messages, [messages[0]] + messages[5...])
        XCTAssertEqual(try trimmer(budget: 59).trim(messages).messages, [messages[0]] + messages[5...])
        XCTAssertEqual(try trimmer(budget: 58).trim(messages).messages, [messages[0], messages[7]])
    }

    func testAReplyIsNeverLeftWithoutItsQuestion() throws {
        // Dropping the long question alone would fit, but would leave its answer opening the history.
        let messages = [system("sys"), user(text(tokens: 50)), assistant("short answer"), user("next"), assistant("ok"), user("newest")]
        let budget = TokenEstimator.inputTokens(of: messages) - 50
        let result = try trimmer(budget: budget).trim(messages)
        XCTAssertEqual(result.messages, [system("sys"), user("next"), assistant("ok"), user("newest")])
        XCTAssertEqual(result.messages[1].role, .user)
        XCTAssertEqual(result.droppedMessages, 2)
    }

    func testSeveralRepliesToOneQuestionGoTogether() throws {
        let messages = [system("sys"), user("q1"), assistant("part 1"), assistant("part 2"), user("q2"), assistant("a2"), user("newest")]
        let result = try trimmer(budget: TokenEstimator.inputTokens(of: messages) - 1).trim(messages)
        XCTAssertEqual(result.messages, [system("sys"), user("q2"), assistant("a2"), user("newest")])
        XCTAssertEqual(result.droppedMessages, 3)
    }

    func testAGreetingBeforeTheFirstQuestionIsDroppedOnItsOwn() throws {
        let messages = [system("sys"), assistant("Hi! How can I help?"), user("q1"), assistant("a1"), user("newest")]
        let result = try trimmer(budget: TokenEstimator.inputTokens(of: messages) - 1).trim(messages)
        XCTAssertEqual(result.messages, [system("sys"), user("q1"), assistant("a1"), user("newest")])
    }

    func testEverySystemMessageAndTheNewestAreKept() throws {
        let messages = [system("policy"), system("tenant notes"), user(text(tokens: 30)), assistant(text(tokens: 30)), user("newest")]
        let result = try trimmer(budget: 25).trim(messages)
        XCTAssertEqual(result.messages, [system("policy"), system("tenant notes"), user("newest")])
        XCTAssertEqual(result.droppedMessages, 2)
        XCTAssertEqual(result.droppedTokens, 2 * 34)
    }

    func testOverlongNewestMessageHasItsMiddleCutAndMarked() throws {
        let paste = "Here is my log:\n" + String(repeating: "ERROR retrying connection\n", count: 400) + "Why does it keep failing?"
        let messages = [system("sys"), user("earlier"), assistant("reply"), user(paste)]
        let budget = 200
        let result = try trimmer(budget: budget).trim(messages)

        XCTAssertTrue(result.newestMessageCut)
        XCTAssertEqual(result.droppedMessages, 2)
        XCTAssertEqual(result.messages.count, 2)
        XCTAssertEqual(result.messages[0], system("sys"))
        XCTAssertEqual(result.messages[1].role, .user)
        let sent = result.messages[1].content
        XCTAssertLessThanOrEqual(result.estimatedInputTokens, budget)
        XCTAssertGreaterThan(result.estimatedInputTokens, budget - 2, "the room should be used, not wasted")
        XCTAssertTrue(sent.hasPrefix("Here is my log:"))
        XCTAssertTrue(sent.hasSuffix("Why does it keep failing?"))
        XCTAssertEqual(result.droppedTokens, TokenEstimator.inputTokens(of: messages) - result.estimatedInputTokens)

        let parts = sent.components(separatedBy: "\n[… ")
        XCTAssertEqual(parts.count, 2)
        let omitted = paste.count - parts[0].count - sent.split(separator: "…]\n", maxSplits: 1)[1].count
        XCTAssertTrue(sent.contains(ContextTrimmer.cutMarker(omittedCharacters: omitted)), sent)
    }

    func testTheCutKeepsMoreOfTheEndThanOfTheStart() throws {
        let paste = String(repeating: "s", count: 2000) + String(repeating: "e", count: 2000)
        let result = try trimmer(budget: 300).trim([system("sys"), user(paste)])
        let sent = result.messages[1].content
        let start = sent.prefix { $0 == "s" }.count
        let end = sent.reversed().prefix { $0 == "e" }.count
        XCTAssertGreaterThan(start, 0)
        XCTAssertEqual(Double(end) / Double(start), 3, accuracy: 0.1)
    }

    func testTheCutNeverSplitsACharacter() throws {
        // Skin-toned thumbs up: one Character of two scalars and 8 UTF-8 bytes.
        let thumbs = "👍🏽"
        let paste = String(repeating: thumbs, count: 500)
        for budget in 30...60 {
            let result = try trimmer(budget: budget).trim([system("sys"), user(paste)])
            let sent = result.messages[1].content
            let marker = try XCTUnwrap(sent.range(of: "\n[… "))
            let start = sent[..<marker.lowerBound]
            let end = sent[try XCTUnwrap(sent.range(of: "…]\n")).upperBound...]
            XCTAssertGreaterThan(start.count + end.count, 0)
            XCTAssertTrue(start.allSatisfy { $0 == Character(thumbs) }, "budget \(budget)")
            XCTAssertTrue(end.allSatisfy { $0 == Character(thumbs) }, "budget \(budget)")
            XCTAssertLessThanOrEqual(result.estimatedInputTokens, budget)
        }
    }

    func testNeverExceedsTheBudgetWhateverItIs() {
        let messages = [system(text(tokens: 12)), assistant("welcome"), user(text(tokens: 7)), assistant(text(tokens: 40)),
                        user("why?"), assistant(text(tokens: 3)), user(text(tokens: 90, "q"))]
        for budget in 0...250 {
            do {
                let result = try trimmer(budget: budget).trim(messages)
                XCTAssertLessThanOrEqual(result.estimatedInputTokens, budget, "budget \(budget)")
                XCTAssertEqual(result.messages.first, messages.first)
                if result.droppedMessages > 0 {
                    XCTAssertNotEqual(result.messages.dropFirst().first?.role, .assistant, "budget \(budget)")
                }
                XCTAssertEqual(result.droppedTokens, TokenEstimator.inputTokens(of: messages) - result.estimatedInputTokens)
            } catch {
                // The error's minimum is honest: every budget below it throws, none at or above it.
                XCTAssertEqual(error.requiredTokens, 16 + 4 + 19, "budget \(budget)")
                XCTAssertLessThan(budget, error.requiredTokens)
            }
        }
    }

    func testASystemPromptTooLargeForTheBudgetThrows() {
        let messages = [system(text(tokens: 100)), user("hello")]
        XCTAssertThrowsError(try trimmer(budget: 80).trim(messages)) { error in
            let budgetError = error as? ContextBudgetError
            XCTAssertEqual(budgetError?.budgetTokens, 80)
            XCTAssertGreaterThan(budgetError?.requiredTokens ?? 0, 104)
        }
    }

    func testAReserveAsLargeAsTheWindowLeavesNoRoom() {
        let trimmer = ContextTrimmer(contextWindow: 4096, outputReserve: 4096)
        XCTAssertThrowsError(try trimmer.trim([system("sys"), user("hi")])) { error in
            XCTAssertEqual((error as? ContextBudgetError)?.budgetTokens, 0)
        }
    }

    func testNoMessagesIsNothingToTrim() throws {
        XCTAssertEqual(try trimmer(budget: 10).trim([]).messages, [])
    }

    func testExchangesGroupEachQuestionWithItsReplies() {
        let history = [assistant("hi"), user("q1"), assistant("a1"), assistant("a1b"), user("q2"), user("q3"), assistant("a3")]
        XCTAssertEqual(ContextTrimmer.exchanges(in: history), [1, 3, 1, 2])
        XCTAssertEqual(ContextTrimmer.exchanges(in: []), [])
    }
}
