import XCTest
@testable import GatewayCore

final class OllamaDialectTests: XCTestCase {
    private let dialect = OllamaDialect(baseURL: "http://127.0.0.1:11434/", builder: OllamaRequestBuilder(model: "llama3.2"))
    private let request = ChatRequest(session: "s", turn: "t", messages: [ChatMessage(role: .user, content: "hi")])

    func testRequestIsTheBuildersURLHeadersAndBody() {
        let http = dialect.httpRequest(for: request)
        XCTAssertEqual(http.url, "http://127.0.0.1:11434/api/chat")
        XCTAssertEqual(http.headers.map(\.value), dialect.builder.headers().map(\.value))
        XCTAssertEqual(http.body, dialect.builder.body(for: request))
        XCTAssertEqual(dialect.framing, .newlineDelimitedJSON)
    }

    func testDecoderEstimatesFromTheRequestsMessages() {
        var decoder = dialect.makeDecoder(for: request)
        XCTAssertEqual(decoder.finish().first,
                       .usage(TokenUsage(inputTokens: TokenEstimator.inputTokens(of: request.messages), outputTokens: 0, estimated: true)))
    }

    func testHTTPErrorsReadOllamasErrorBody() {
        let missing = Array(#"{"error":"model \"llama9\" not found, try pulling it first"}"#.utf8)
        let error = dialect.httpError(status: 404, body: missing, retryAfterMillis: nil)
        XCTAssertEqual(error, .upstreamHTTP(status: 404, detail: "model \"llama9\" not found, try pulling it first"))
        XCTAssertFalse(error.isRetryable)
        XCTAssertTrue(dialect.httpError(status: 503, body: Array(#"{"error":"server busy"}"#.utf8), retryAfterMillis: nil).isRetryable)
    }
}
