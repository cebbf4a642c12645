import Foundation

/// Turns the `data` of each SSE event of an OpenAI-compatible `/chat/completions` stream
/// (OpenAI, vLLM, llama.cpp, LiteLLM, Ollama `/v1`) into `ProviderEvent`s.
///
/// - Text: `choices[0].delta.content`, empty strings skipped.
/// - `finish_reason`: remembered; it becomes the terminal's `upstreamReason`.
/// - `[DONE]`: the terminal `.finished`.
/// - `{"error": {...}}` or `{"error": "..."}` (sent under HTTP 200): `.failed(.upstreamError)`,
///   retryable when it says the server is overloaded.
/// - Malformed JSON: `.failed(.upstreamError("malformed chunk: ..."))`.
///
/// Usage (decided here, so every provider built on this decoder behaves the same): the decoder
/// holds usage back and emits exactly one `.usage` immediately before its terminal event: the
/// upstream's totals when it sent any (usage-only chunk or usage on the finish chunk; the last one
/// wins), otherwise an estimate (`TokenEstimator` on the request messages and on the relayed
/// text, `estimated: true`). If the upstream reported only one of the two counts, the other is
/// estimated and the result is marked estimated.
///
/// After the terminal event every call returns `[]`.
public struct OpenAIStreamDecoder: UpstreamStreamDecoder {
    private var tally: StreamUsageTally
    private var finishReason: String?
    public private(set) var isFinished = false

    private let json = JSONDecoder()

    /// `requestMessages` are only used to estimate input tokens when the upstream reports none.
    public init(requestMessages: [ChatMessage]) {
        self.tally = StreamUsageTally(requestMessages: requestMessages)
    }

    /// True once a `finish_reason` arrived: the answer is complete even if `[DONE]` never comes.
    public var sawFinishReason: Bool { finishReason != nil }

    /// Decodes one SSE event's data. Pass `atEndOfBody: true` for an event that only the end of
    /// the body completed (`SSEParser.finish`): if that one is not valid JSON, the connection cut it
    /// mid-line, so it is dropped and `finish()` reports the truncation instead of a malformed chunk.
    public mutating func decode(_ data: String, atEndOfBody: Bool = false) -> [ProviderEvent] {
        guard !isFinished else { return [] }
        let payload = data.trimmingCharacters(in: .whitespacesAndNewlines)
        if payload.isEmpty { return [] }
        if payload == "[DONE]" { return terminate(.finished(upstreamReason: finishReason)) }

        let chunk: Chunk
        do {
            chunk = try json.decode(Chunk.self, from: Data(payload.utf8))
        } catch {
            if atEndOfBody { return [] }
            return terminate(.failed(.upstreamError("malformed chunk: " + Self.excerpt(payload))))
        }
        if let error = chunk.error {
            return terminate(.failed(.upstreamError(error.detail, overloaded: error.isOverload)))
        }

        var events: [ProviderEvent] = []
        if let choice = chunk.choices?.first(where: { ($0.index ?? 0) == 0 }) {
            if let text = choice.delta?.content, !text.isEmpty {
                tally.countOutput(text)
                events.append(.text(text))
            }
            if let reason = choice.finishReason, !reason.isEmpty {
                finishReason = reason
            }
        }
        if let usage = chunk.usage, usage.promptTokens != nil || usage.completionTokens != nil {
            // A usage object is a snapshot of the totals: assign both counts, never add.
            tally.reportedInputTokens = usage.promptTokens
            tally.reportedOutputTokens = usage.completionTokens
        }
        return events
    }

    public mutating func decode(type: String, data: String, atEndOfBody: Bool) -> [ProviderEvent] {
        decode(data, atEndOfBody: atEndOfBody)
    }

    /// The stream ended without `[DONE]` (body end, transport error, timeout). Some servers omit
    /// `[DONE]`, so a stream that carried a `finish_reason` is complete: `.finished`. Otherwise the
    /// answer was cut: `.failed(failure)`.
    public mutating func finish(failure: TurnError = .upstreamTruncated) -> [ProviderEvent] {
        guard !isFinished else { return [] }
        if let finishReason { return terminate(.finished(upstreamReason: finishReason)) }
        return terminate(.failed(failure))
    }

    /// Ends the stream with `error` whatever was seen (for errors that are failures even after a
    /// finish reason); still preceded by usage.
    public mutating func fail(_ error: TurnError) -> [ProviderEvent] {
        guard !isFinished else { return [] }
        return terminate(.failed(error))
    }

    /// The usage to report now: the upstream's, completed by estimates where it gave none.
    public var usage: TokenUsage { tally.usage }

    private mutating func terminate(_ terminal: ProviderEvent) -> [ProviderEvent] {
        isFinished = true
        return [.usage(usage), terminal]
    }

    static func excerpt(_ text: String, limit: Int = 120) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }
}

// MARK: - Wire format (only the fields we use; unknown fields and nulls are fine)

private struct Chunk: Decodable {
    var choices: [Choice]?
    var usage: Usage?
    var error: UpstreamErrorPayload?
}

private struct Choice: Decodable {
    var index: Int?
    var delta: Delta?
    var finishReason: String?

    enum CodingKeys: String, CodingKey {
        case index, delta
        case finishReason = "finish_reason"
    }
}

private struct Delta: Decodable {
    var content: String?
}

private struct Usage: Decodable {
    var promptTokens: Int?
    var completionTokens: Int?

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
    }
}
