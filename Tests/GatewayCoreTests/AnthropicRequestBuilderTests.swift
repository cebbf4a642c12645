import Foundation
import XCTest
@testable import GatewayCore

final class AnthropicRequestBuilderTests: XCTestCase {
    private let request = ChatRequest(session: "s1", turn: "t1", messages: [
        ChatMessage(role: .system, content: "Be brief."),
        ChatMessage(role: .user, content: "Hi \"there\" / é"),
        ChatMessage(role: .assistant, content: "Hello."),
        ChatMessage(role: .user, content: "Again"),
    ])

    private func object(_ builder: AnthropicRequestBuilder, _ request: ChatRequest? = nil) throws -> [String: Any] {
        let body = builder.body(for: request ?? self.request)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
    }

    private func turns(_ messages: [ChatMessage]) -> [String] {
        AnthropicRequestBuilder.conversation(of: messages).messages.map { "\($0.role.rawValue): \($0.content)" }
    }

    func testBodyIsStableJSONWithTheSystemPromptAtTopLevel() {
        let body = AnthropicRequestBuilder(model: "claude-sonnet-4-5").body(for: request)
        XCTAssertEqual(String(decoding: body, as: UTF8.self),
                       #"{"max_tokens":1024,"messages":[{"content":"Hi \"there\" / é","role":"user"},"#
                       + #"{"content":"Hello.","role":"assistant"},{"content":"Again","role":"user"}],"#
                       + #""model":"claude-sonnet-4-5","stream":true,"system":"Be brief."}"#)
    }

    func testNoSystemFieldWithoutASystemPrompt() throws {
        let plain = ChatRequest(session: "s", turn: "t", messages: [ChatMessage(role: .user, content: "hi")])
        XCTAssertNil(try object(AnthropicRequestBuilder(model: "m"), plain)["system"])
    }

    func testMaxTokensIsAlwaysSentAndTheSmallerCapWins() throws {
        func maxTokens(provider: Int?, request cap: Int?) throws -> Int? {
            var capped = request
            capped.maxOutputTokens = cap
            return try object(AnthropicRequestBuilder(model: "m", maxTokens: provider), capped)["max_tokens"] as? Int
        }
        XCTAssertEqual(try maxTokens(provider: nil, request: nil), AnthropicRequestBuilder.defaultMaxTokens)
        XCTAssertEqual(try maxTokens(provider: 256, request: nil), 256)
        XCTAssertEqual(try maxTokens(provider: nil, request: 64), 64)
        XCTAssertEqual(try maxTokens(provider: 256, request: 1000), 256)
        XCTAssertEqual(try maxTokens(provider: 4096, request: 100), 100)
    }

    func testTemperatureIsSentOnlyWhenConfigured() throws {
        XCTAssertNil(try object(AnthropicRequestBuilder(model: "m"))["temperature"])
        XCTAssertEqual(try object(AnthropicRequestBuilder(model: "m", temperature: 0))["temperature"] as? Double, 0)
        XCTAssertEqual(try object(AnthropicRequestBuilder(model: "m", temperature: 0.7))["temperature"] as? Double, 0.7)
    }

    func testSystemMessagesAnywhereAreJoinedIntoTheSystemField() {
        let conversation = AnthropicRequestBuilder.conversation(of: [
            ChatMessage(role: .system, content: "Rule one."),
            ChatMessage(role: .user, content: "a"),
            ChatMessage(role: .system, content: "Rule two."),
            ChatMessage(role: .assistant, content: "b"),
        ])
        XCTAssertEqual(conversation.system, "Rule one.\n\nRule two.")
        XCTAssertEqual(conversation.messages.map(\.role), [.user, .assistant])
    }

    func testConsecutiveSameRoleMessagesAreMerged() {
        XCTAssertEqual(turns([
            ChatMessage(role: .user, content: "one"),
            ChatMessage(role: .user, content: "two"),
            ChatMessage(role: .assistant, content: "A"),
            ChatMessage(role: .system, content: "ignored here"),
            ChatMessage(role: .assistant, content: "B"),
            ChatMessage(role: .user, content: "three"),
        ]), ["user: one\n\ntwo", "assistant: A\n\nB", "user: three"])
    }

    func testEmptyMessagesAreDroppedBeforeMerging() {
        XCTAssertEqual(turns([
            ChatMessage(role: .user, content: "one"),
            ChatMessage(role: .assistant, content: ""),
            ChatMessage(role: .user, content: "two"),
        ]), ["user: one\n\ntwo"])
        XCTAssertNil(AnthropicRequestBuilder.conversation(of: [ChatMessage(role: .system, content: "")]).system)
    }

    func testAHistoryStartingWithTheAssistantGetsAUserTurnFirst() {
        XCTAssertEqual(turns([
            ChatMessage(role: .system, content: "s"),
            ChatMessage(role: .assistant, content: "earlier answer"),
            ChatMessage(role: .user, content: "question"),
        ]), ["user: \(AnthropicRequestBuilder.leadingUserPlaceholder)", "assistant: earlier answer", "user: question"])
    }

    func testTheResultAlwaysAlternatesStartingWithTheUserAndKeepsEveryText() {
        // Every sequence of up to 5 messages over the three roles, each text empty or not.
        let choices = [ChatRole.system, .user, .assistant].flatMap { role in
            [ChatMessage(role: role, content: "x"), ChatMessage(role: role, content: "")]
        }
        var sequences: [[ChatMessage]] = [[]]
        var frontier: [[ChatMessage]] = [[]]
        for _ in 0..<5 {
            frontier = frontier.flatMap { sequence in choices.map { sequence + [$0] } }
            sequences += frontier
        }
        XCTAssertEqual(sequences.count, 9331)
        for messages in sequences {
            let result = AnthropicRequestBuilder.conversation(of: messages).messages
            for (index, message) in result.enumerated() {
                XCTAssertEqual(message.role, index % 2 == 0 ? .user : .assistant, "\(messages)")
                XCTAssertFalse(message.content.isEmpty)
            }
            let kept = result.map { $0.content.filter { $0 == "x" }.count }.reduce(0, +)
            XCTAssertEqual(kept, messages.filter { $0.role != .system && !$0.content.isEmpty }.count, "\(messages)")
        }
    }

    func testHeaders() {
        let lines = { (builder: AnthropicRequestBuilder) in builder.headers().map { "\($0.name): \($0.value)" } }
        let base = ["Content-Type: application/json", "Accept: text/event-stream", "anthropic-version: 2023-06-01", "Expect: "]
        XCTAssertEqual(lines(AnthropicRequestBuilder(model: "m")), base)
        XCTAssertEqual(lines(AnthropicRequestBuilder(model: "m", apiKey: "")), base)
        XCTAssertEqual(lines(AnthropicRequestBuilder(model: "m", apiKey: "sk-ant-1")), base + ["x-api-key: sk-ant-1"])
    }

    func testMessagesURL() {
        for base in ["https://api.anthropic.com", "https://api.anthropic.com/", "https://api.anthropic.com/v1",
                     "https://api.anthropic.com/v1/"] {
            XCTAssertEqual(AnthropicRequestBuilder.messagesURL(base: base), "https://api.anthropic.com/v1/messages", base)
        }
        XCTAssertEqual(AnthropicRequestBuilder.messagesURL(base: "http://127.0.0.1:8081"), "http://127.0.0.1:8081/v1/messages")
        XCTAssertEqual(AnthropicRequestBuilder.messagesURL(base: "https://proxy.example/anthropic"),
                       "https://proxy.example/anthropic/v1/messages")
    }
}
