/// Anthropic Messages API streaming (`POST {base}/v1/messages`: Anthropic, llama.cpp's server).
public struct AnthropicDialect: UpstreamDialect {
    /// The host root, e.g. `https://api.anthropic.com` or `http://127.0.0.1:8081` (see
    /// `AnthropicRequestBuilder.messagesURL(base:)`).
    public var baseURL: String
    public var builder: AnthropicRequestBuilder

    public init(baseURL: String, builder: AnthropicRequestBuilder) {
        self.baseURL = baseURL
        self.builder = builder
    }

    public var framing: StreamFraming { .serverSentEvents }

    public func httpRequest(for request: ChatRequest) -> UpstreamHTTPRequest {
        UpstreamHTTPRequest(url: AnthropicRequestBuilder.messagesURL(base: baseURL),
                            headers: builder.headers(), body: builder.body(for: request))
    }

    public func makeDecoder(for request: ChatRequest) -> AnthropicStreamDecoder {
        AnthropicStreamDecoder(requestMessages: request.messages)
    }

    /// Anthropic's error bodies (`{"type":"error","error":{"type":...,"message":...}}`) are one of
    /// the shapes the shared reader knows; 529 (overloaded) is a 5xx and so retryable.
    public func httpError(status: Int, body: [UInt8], retryAfterMillis: Int?) -> TurnError {
        UpstreamHTTPError.turnError(status: status, body: body, retryAfterMillis: retryAfterMillis)
    }
}
