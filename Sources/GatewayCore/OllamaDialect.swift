/// Ollama's native chat API streaming (`POST {base}/api/chat`, newline-delimited JSON).
public struct OllamaDialect: UpstreamDialect {
    /// The server root, e.g. `http://127.0.0.1:11434` (see `OllamaRequestBuilder.chatURL(base:)`).
    public var baseURL: String
    public var builder: OllamaRequestBuilder

    public init(baseURL: String, builder: OllamaRequestBuilder) {
        self.baseURL = baseURL
        self.builder = builder
    }

    public var framing: StreamFraming { .newlineDelimitedJSON }

    public func httpRequest(for request: ChatRequest) -> UpstreamHTTPRequest {
        UpstreamHTTPRequest(url: OllamaRequestBuilder.chatURL(base: baseURL),
                            headers: builder.headers(), body: builder.body(for: request))
    }

    public func makeDecoder(for request: ChatRequest) -> OllamaStreamDecoder {
        OllamaStreamDecoder(requestMessages: request.messages)
    }

    /// Ollama's error bodies are `{"error":"..."}`, one of the shapes the shared reader knows.
    public func httpError(status: Int, body: [UInt8], retryAfterMillis: Int?) -> TurnError {
        UpstreamHTTPError.turnError(status: status, body: body, retryAfterMillis: retryAfterMillis)
    }
}
