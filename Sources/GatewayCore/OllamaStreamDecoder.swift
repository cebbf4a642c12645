import Foundation

/// Turns the lines of an Ollama `/api/chat` NDJSON stream into `ProviderEvent`s.
///
/// - Text: `message.content`, empty strings skipped (`message.thinking` is not chat text).
/// - The object with `done: true` ends the answer: its counts (`prompt_eval_count` as input,
///   `eval_count` as output; Ollama omits `prompt_eval_count` when the whole prompt came from its
///   cache, and that count is then estimated), then `.finished(upstreamReason: done_reason)`.
///   `done_reason` is passed on as Ollama spells it (`stop`, `length`, ...).
/// - `{"error": "..."}` (under HTTP 200, possibly after text): `.failed(.upstreamError)`,
///   retryable when it says the server is overloaded or busy.
/// - A line that is not a JSON object: `.failed(.upstreamError("malformed line: ..."))`.
/// - End of body without `done: true`: `.failed(.upstreamTruncated)` (or the transport's failure).
///
/// Usage follows `StreamUsageTally`: one `.usage` right before the one terminal event, estimates
/// where Ollama gave no count. After the terminal event every call returns `[]`.
public struct OllamaStreamDecoder: UpstreamStreamDecoder {
    private var tally: StreamUsageTally
    public private(set) var isFinished = false

    private let json = JSONDecoder()

    /// `requestMessages` are only used to estimate input tokens when the upstream reports none.
    public init(requestMessages: [ChatMessage]) {
        self.tally = StreamUsageTally(requestMessages: requestMessages)
    }

    /// Decodes one line. Pass `atEndOfBody: true` for the last line when the body ended without its
    /// newline: if it does not parse, the connection cut it, so it is dropped and `finish()`
    /// reports the truncation instead of a malformed line.
    public mutating func decode(_ line: String, atEndOfBody: Bool = false) -> [ProviderEvent] {
        guard !isFinished else { return [] }
        let payload = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if payload.isEmpty { return [] }

        let object: Line
        do {
            object = try json.decode(Line.self, from: Data(payload.utf8))
        } catch {
            if atEndOfBody { return [] }
            return terminate(.failed(.upstreamError("malformed line: " + OpenAIStreamDecoder.excerpt(payload))))
        }
        if let error = object.error {
            return terminate(.failed(.upstreamError(error.detail, overloaded: error.isOverload)))
        }

        var events: [ProviderEvent] = []
        if let text = object.message?.content, !text.isEmpty {
            tally.countOutput(text)
            events.append(.text(text))
        }
        if object.done == true {
            if let input = object.promptEvalCount { tally.reportedInputTokens = input }
            if let output = object.evalCount { tally.reportedOutputTokens = output }
            events += terminate(.finished(upstreamReason: object.doneReason))
        }
        return events
    }

    public mutating func decode(type: String, data: String, atEndOfBody: Bool) -> [ProviderEvent] {
        decode(data, atEndOfBody: atEndOfBody)
    }

    /// The stream ended before the `done: true` object (body end, transport error, timeout): the
    /// answer was cut, `.failed(failure)`.
    public mutating func finish(failure: TurnError = .upstreamTruncated) -> [ProviderEvent] {
        guard !isFinished else { return [] }
        return terminate(.failed(failure))
    }

    /// Ends the stream with `error` whatever was seen; still preceded by usage.
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
}

// MARK: - Wire format (only the fields we use; unknown fields and nulls are fine)

private struct Line: Decodable {
    var message: Message?
    var done: Bool?
    var doneReason: String?
    var promptEvalCount: Int?
    var evalCount: Int?
    var error: UpstreamErrorPayload?

    enum CodingKeys: String, CodingKey {
        case message, done, error
        case doneReason = "done_reason"
        case promptEvalCount = "prompt_eval_count"
        case evalCount = "eval_count"
    }
}

private struct Message: Decodable {
    var content: String?
}
