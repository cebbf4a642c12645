import Foundation
import XCTest
@testable import GatewayCore

final class OpenAIRequestBuilderTests: XCTestCase {
    private let request = ChatRequest(session: "s1", turn: "t1", messages: [
        ChatMessage(role: .system, content: "Be brief."),
        ChatMessage(role: .user, content: "Hi \"there\" / é"),
        ChatMessage(role: .assistant, content: "Hello."),
        ChatMessage(role: .user, content: "Again"),
    ])

    func testBodyIsStableJSON() {
        let body = OpenAIRequestBuilder(model: "llama-3").body(for: request)
        XCTAssertEqual(String(decoding: body, as: UTF8.self),
                       #"{"messages":[{"content":"Be brief.","role":"system"},{"content":"Hi \"there\" / é","role":"user"},"#
                       + #"{"content":"Hello.","role":"assistant"},{"content":"Again","role":"user"}],"#
                       + #""model":"llama-3","stream":true,"stream_options":{"include_usage":true}}"#)
    }

    func testMaxTokensIsTheSmallerCap() throws {
        func maxTokens(provider: Int?, request cap: Int?) throws -> Any? {
            var capped = request
            capped.maxOutputTokens = cap
            let body = OpenAIRequestBuilder(model: "m", maxTokens: provider).body(for: capped)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
            return object["max_tokens"]
        }
        XCTAssertNil(try maxTokens(provider: nil, request: nil))
        XCTAssertEqual(try maxTokens(provider: 256, request: nil) as? Int, 256)
        XCTAssertEqual(try maxTokens(provider: nil, request: 64) as? Int, 64)
        XCTAssertEqual(try maxTokens(provider: 256, request: 1000) as? Int, 256)
        XCTAssertEqual(try maxTokens(provider: 256, request: 100) as? Int, 100)
    }

    /// After a reply that failed before any text, the history holds two user messages in a row;
    /// strict chat templates refuse that, so they go as one.
    func testConsecutiveMessagesOfOneRoleAreMergedAndEmptyOnesDropped() throws {
        let afterAFailure = ChatRequest(session: "s", turn: "t", messages: [
            ChatMessage(role: .system, content: "Be brief."),
            ChatMessage(role: .user, content: "First?"),
            ChatMessage(role: .assistant, content: ""),
            ChatMessage(role: .user, content: "Again?"),
        ])
        let body = OpenAIRequestBuilder(model: "m").body(for: afterAFailure)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let messages = try XCTUnwrap(object["messages"] as? [[String: String]])
        XCTAssertEqual(messages, [["role": "system", "content": "Be brief."], ["role": "user", "content": "First?\n\nAgain?"]])
    }

    func testTemperatureIsSentOnlyWhenConfigured() throws {
        func temperature(_ value: Double?) throws -> Any? {
            let body = OpenAIRequestBuilder(model: "m", temperature: value).body(for: request)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
            return object["temperature"]
        }
        XCTAssertNil(try temperature(nil))
        XCTAssertEqual(try temperature(0) as? Double, 0)
        XCTAssertEqual(try temperature(0.7) as? Double, 0.7)
    }

    func testHeaders() {
        let names = { (builder: OpenAIRequestBuilder) in builder.headers().map { "\($0.name): \($0.value)" } }
        XCTAssertEqual(names(OpenAIRequestBuilder(model: "m")),
                       ["Content-Type: application/json", "Accept: text/event-stream", "Expect: "])
        XCTAssertEqual(names(OpenAIRequestBuilder(model: "m", apiKey: "")).count, 3)
        XCTAssertEqual(names(OpenAIRequestBuilder(model: "m", apiKey: "sk-1")).last, "Authorization: Bearer sk-1")
    }

    func testCompletionsURL() {
        XCTAssertEqual(OpenAIRequestBuilder.completionsURL(base: "http://127.0.0.1:8081/v1"),
                       "http://127.0.0.1:8081/v1/chat/completions")
        XCTAssertEqual(OpenAIRequestBuilder.completionsURL(base: "https://api.example.com/v1/"),
                       "https://api.example.com/v1/chat/completions")
    }

    func testHTTPErrorFromJSONBodies() {
        let openAI = #"{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","code":"invalid_api_key"}}"#
        XCTAssertEqual(UpstreamHTTPError.turnError(status: 401, body: bytes(openAI)),
                       .upstreamHTTP(status: 401, detail: "Incorrect API key provided. (invalid_request_error/invalid_api_key)"))
        XCTAssertEqual(UpstreamHTTPError.turnError(status: 500, body: bytes(#"{"error":"model not loaded"}"#)),
                       .upstreamHTTP(status: 500, detail: "model not loaded"))
        let vllm = #"{"object":"error","message":"max_tokens is too large","type":"BadRequestError","param":null,"code":400}"#
        XCTAssertEqual(UpstreamHTTPError.turnError(status: 400, body: bytes(vllm)),
                       .upstreamHTTP(status: 400, detail: "max_tokens is too large"))
        XCTAssertEqual(UpstreamHTTPError.turnError(status: 422, body: bytes(#"{"detail":"Not Found"}"#)),
                       .upstreamHTTP(status: 422, detail: "Not Found"))
    }

    func testHTTPErrorFromTextBodies() {
        XCTAssertEqual(UpstreamHTTPError.turnError(status: 502, body: bytes("<html>\n  Bad   gateway\n</html>\n")),
                       .upstreamHTTP(status: 502, detail: "<html> Bad gateway </html>"))
        XCTAssertEqual(UpstreamHTTPError.turnError(status: 503, body: []),
                       TurnError(code: "upstream_http", message: "upstream answered HTTP 503", retry: .allowed(afterMillis: nil)))
        let long = UpstreamHTTPError.detail(body: bytes(String(repeating: "é", count: 1000)))
        XCTAssertEqual(long.count, 300)
        XCTAssertTrue(long.hasSuffix("…"))
    }

    func testHTTPErrorWithRetryAfter() {
        XCTAssertEqual(UpstreamHTTPError.turnError(status: 429, body: bytes(#"{"error":{"message":"Slow down"}}"#), retryAfterMillis: 7000),
                       .upstreamHTTP(status: 429, detail: "Slow down (retry after 7 s)", retryAfterMillis: 7000))
        XCTAssertEqual(UpstreamHTTPError.turnError(status: 429, body: [], retryAfterMillis: 250),
                       .upstreamHTTP(status: 429, detail: "(retry after 250 ms)", retryAfterMillis: 250))
    }

    func testWhichHTTPStatusesAreWorthARetry() {
        for status in [408, 409, 429, 500, 502, 503, 504, 529] {
            XCTAssertTrue(UpstreamHTTPError.turnError(status: status, body: []).isRetryable, "\(status)")
        }
        for status in [400, 401, 403, 404, 413, 422] {
            XCTAssertFalse(UpstreamHTTPError.turnError(status: status, body: []).isRetryable, "\(status)")
        }
    }
}
