/// What differs between LLM APIs, as pure values: how a chat turn is asked for, how the streamed
/// answer is framed and read, and what an HTTP error answer means. `GatewayLLM.UpstreamProvider`
/// drives any dialect over one libcurl client; the framing layers (`SSEParser`,
/// `NDJSONLineSplitter`) are shared, so each provider is only a request builder and a decoder.
public protocol UpstreamDialect: Sendable {
    associatedtype Decoder: UpstreamStreamDecoder

    var framing: StreamFraming { get }
    /// The HTTP request for `request` (URL, headers, JSON body).
    func httpRequest(for request: ChatRequest) -> UpstreamHTTPRequest
    func makeDecoder(for request: ChatRequest) -> Decoder
    /// A non-2xx answer as the turn's error, with its retry hint (`retryAfterMillis` already parsed
    /// from the headers).
    func httpError(status: Int, body: [UInt8], retryAfterMillis: Int?) -> TurnError
}

public enum StreamFraming: Sendable, Equatable {
    /// `text/event-stream` (OpenAI, Anthropic).
    case serverSentEvents
    /// One JSON object per line (Ollama's native API).
    case newlineDelimitedJSON
}

public struct UpstreamHTTPRequest: Sendable {
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(url: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// Reads one upstream stream's framed units into `ProviderEvent`s.
///
/// Contract shared by every dialect (so turns behave the same whatever the provider): text events
/// as they come; then exactly one `.usage` (the upstream's totals, else a `TokenEstimator`
/// estimate marked `estimated`) immediately before exactly one terminal event; nothing after it.
public protocol UpstreamStreamDecoder {
    /// One unit: an SSE event (`type` is its `event:` field, "message" by default) or an NDJSON
    /// line (`type` is empty). `atEndOfBody` marks a unit that only the end of the body completed:
    /// if it does not parse, the connection cut it and `finish` reports the truncation.
    mutating func decode(type: String, data: String, atEndOfBody: Bool) -> [ProviderEvent]
    /// The body ended, cleanly or with `failure` (transport error, timeout): the terminal events,
    /// `.finished` if the answer was complete, else `.failed(failure)`.
    mutating func finish(failure: TurnError) -> [ProviderEvent]
    var isFinished: Bool { get }
}
