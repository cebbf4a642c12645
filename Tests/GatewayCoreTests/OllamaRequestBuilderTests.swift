import Foundation
import XCTest
@testable import GatewayCore

final class OllamaRequestBuilderTests: XCTestCase {
    private let request = ChatRequest(session: "s1", turn: "t1", messages: [
        ChatMessage(role: .system, content: "Be brief."),
        ChatMessage(role: .user, content: "Hi \"there\" / é"),
        ChatMessage(role: .assistant, content: "Hello."),
        ChatMessage(role: .user, content: "Again"),
    ])

    private func object(_ builder: OllamaRequestBuilder, cap: Int? = nil) throws -> [String: Any] {
        var capped = request
        capped.maxOutputTokens = cap
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(builder.body(for: capped))) as? [String: Any])
    }

    func testBodyIsStableJSONWithSystemMessagesInTheList() {
        let body = OllamaRequestBuilder(model: "llama3.2:3b").body(for: request)
        XCTAssertEqual(String(decoding: body, as: UTF8.self),
                       #"{"messages":[{"content":"Be brief.","role":"system"},{"content":"Hi \"there\" / é","role":"user"},"#
                       + #"{"content":"Hello.","role":"assistant"},{"content":"Again","role":"user"}],"#
                       + #""model":"llama3.2:3b","stream":true}"#)
    }

    func testOptionsCarryTheSmallerCapAndTheTemperature() throws {
        func options(_ builder: OllamaRequestBuilder, cap: Int? = nil) throws -> [String: Any]? {
            try object(builder, cap: cap)["options"] as? [String: Any]
        }
        XCTAssertNil(try object(OllamaRequestBuilder(model: "m"))["options"], "no options object when nothing is set")
        XCTAssertEqual(try options(OllamaRequestBuilder(model: "m", maxTokens: 256))?["num_predict"] as? Int, 256)
        XCTAssertEqual(try options(OllamaRequestBuilder(model: "m"), cap: 64)?["num_predict"] as? Int, 64)
        XCTAssertEqual(try options(OllamaRequestBuilder(model: "m", maxTokens: 256), cap: 1000)?["num_predict"] as? Int, 256)
        XCTAssertEqual(try options(OllamaRequestBuilder(model: "m", maxTokens: 256), cap: 100)?["num_predict"] as? Int, 100)
        let warm = try XCTUnwrap(try options(OllamaRequestBuilder(model: "m", temperature: 0)))
        XCTAssertEqual(warm["temperature"] as? Double, 0)
        XCTAssertNil(warm["num_predict"])
    }

    func testHeaders() {
        let lines = { (builder: OllamaRequestBuilder) in builder.headers().map { "\($0.name): \($0.value)" } }
        let base = ["Content-Type: application/json", "Accept: application/x-ndjson", "Expect: "]
        XCTAssertEqual(lines(OllamaRequestBuilder(model: "m")), base)
        XCTAssertEqual(lines(OllamaRequestBuilder(model: "m", apiKey: "")), base)
        XCTAssertEqual(lines(OllamaRequestBuilder(model: "m", apiKey: "k1")), base + ["Authorization: Bearer k1"])
    }

    func testChatURL() {
        for base in ["http://127.0.0.1:11434", "http://127.0.0.1:11434/", "http://127.0.0.1:11434/api", "http://127.0.0.1:11434/api/"] {
            XCTAssertEqual(OllamaRequestBuilder.chatURL(base: base), "http://127.0.0.1:11434/api/chat", base)
        }
        XCTAssertEqual(OllamaRequestBuilder.chatURL(base: "https://ollama.com"), "https://ollama.com/api/chat")
    }
}
