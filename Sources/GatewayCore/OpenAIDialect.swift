/// OpenAI-compatible `/chat/completions` streaming (OpenAI, vLLM, llama.cpp, LiteLLM, Ollama `/v1`).
public struct OpenAIDialect: UpstreamDialect {
    public var baseURL: String
    public var builder: OpenAIRequestBuilder

    public init(baseURL: String, builder: OpenAIRequestBuilder) {
        self.baseURL = baseURL
        self.builder = builder
    }

    public var framing: StreamFraming { .serverSentEvents }

    public func httpRequest(for request: ChatRequest) -> UpstreamHTTPRequest {
        UpstreamHTTPRequest(url: OpenAIRequestBuilder.completionsURL(base: baseURL),
                            headers: builder.headers(), body: builder.body(for: request))
    }

    public func makeDecoder(for request: ChatRequest) -> OpenAIStreamDecoder {
        OpenAIStreamDecoder(requestMessages: request.messages)
    }

    public func httpError(status: Int, body: [UInt8], retryAfterMillis: Int?) -> TurnError {
        UpstreamHTTPError.turnError(status: status, body: body, retryAfterMillis: retryAfterMillis)
    }
}
