import XCTest
@testable import GatewayCore

final class AnthropicDialectTests: XCTestCase {
    private let dialect = AnthropicDialect(baseURL: "http://127.0.0.1:8081",
                                           builder: AnthropicRequestBuilder(model: "m", apiKey: "k", maxTokens: 99))
    private let request = ChatRequest(session: "s", turn: "t", messages: [
        ChatMessage(role: .system, content: "sys"), ChatMessage(role: .user, content: "hi"),
    ])

    func testRequestIsTheBuildersURLHeadersAndBody() {
        let http = dialect.httpRequest(for: request)
        XCTAssertEqual(http.url, "http://127.0.0.1:8081/v1/messages")
        XCTAssertEqual(http.headers.map(\.name), dialect.builder.headers().map(\.name))
        XCTAssertEqual(http.body, dialect.builder.body(for: request))
        XCTAssertEqual(dialect.framing, .serverSentEvents)
    }

    func testDecoderEstimatesFromTheRequestsMessages() {
        var decoder = dialect.makeDecoder(for: request)
        XCTAssertEqual(decoder.finish().first,
                       .usage(TokenUsage(inputTokens: TokenEstimator.inputTokens(of: request.messages), outputTokens: 0, estimated: true)))
    }

    func testHTTPErrorsReadAnthropicsErrorBody() {
        let overloaded = Array(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.utf8)
        XCTAssertEqual(dialect.httpError(status: 529, body: overloaded, retryAfterMillis: nil),
                       .upstreamHTTP(status: 529, detail: "Overloaded (overloaded_error)"))
        let auth = Array(#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#.utf8)
        let error = dialect.httpError(status: 401, body: auth, retryAfterMillis: nil)
        XCTAssertEqual(error.message, "upstream answered HTTP 401: invalid x-api-key (authentication_error)")
        XCTAssertFalse(error.isRetryable)
        XCTAssertEqual(dialect.httpError(status: 429, body: [], retryAfterMillis: 2000).retry, .allowed(afterMillis: 2000))
    }
}
