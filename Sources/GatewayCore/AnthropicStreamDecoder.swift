import Foundation

/// Turns the SSE events of an Anthropic Messages stream (Anthropic, llama.cpp `/v1/messages`) into
/// `ProviderEvent`s.
///
/// - The event's kind is the JSON `type` (Anthropic repeats it in every payload), else the SSE
///   `event:` name, so a proxy that drops `event:` lines changes nothing.
/// - `message_start`: input usage from `message.usage` (its `output_tokens` is a placeholder and
///   ignored; the real count comes with `message_delta`).
/// - `content_block_delta` with `delta.type == "text_delta"`: `.text(delta.text)`, empty skipped.
///   Other deltas (tool input JSON, thinking, signatures) are not chat text and are dropped.
/// - `message_delta`: `delta.stop_reason` is remembered; `usage` counts are cumulative totals and
///   are assigned field by field (some servers repeat `input_tokens` there, most send only
///   `output_tokens`).
/// - `message_stop`: the terminal `.finished(upstreamReason: stop_reason)`; the reason is passed
///   on as Anthropic spells it (`end_turn`, `max_tokens`, ...): `TurnFinish(upstreamReason:)`
///   maps `max_tokens` to the client's `length`.
/// - `error` (under HTTP 200, possibly after text): `.failed(.upstreamError)`, retryable for
///   `overloaded_error`, `rate_limit_error` and `api_error` (Anthropic's own transient failures).
/// - `ping`, `content_block_start`, `content_block_stop` and unknown types: nothing (the API adds
///   new event types over time and says to ignore them).
/// - Malformed JSON: `.failed(.upstreamError("malformed event: ..."))`.
///
/// Input usage is `input_tokens` plus the prompt-cache counts (`cache_creation_input_tokens`,
/// `cache_read_input_tokens`), because Anthropic's `input_tokens` excludes cached tokens while
/// the gateway reports the whole prompt, as OpenAI's `prompt_tokens` does. Usage otherwise follows
/// `StreamUsageTally`: one `.usage` right before the one terminal event, estimates where the
/// upstream gave no count. After the terminal event every call returns `[]`.
public struct AnthropicStreamDecoder: UpstreamStreamDecoder {
    /// Error kinds a later retry can cure (Anthropic's error reference: 529, 429, 500).
    public static let retryableErrorTypes: Set<String> = ["overloaded_error", "rate_limit_error", "api_error"]

    private var tally: StreamUsageTally
    /// The parts of the input count, each assigned when the upstream reports it.
    private var inputParts = InputParts()
    private var stopReason: String?
    public private(set) var isFinished = false

    private let json = JSONDecoder()

    /// `requestMessages` are only used to estimate input tokens when the upstream reports none.
    public init(requestMessages: [ChatMessage]) {
        self.tally = StreamUsageTally(requestMessages: requestMessages)
    }

    /// True once a `stop_reason` arrived: the answer is complete even if `message_stop` never comes.
    public var sawStopReason: Bool { stopReason != nil }

    /// Decodes one SSE event. Pass `atEndOfBody: true` for an event that only the end of the body
    /// completed: if it is not valid JSON, the connection cut it, so it is dropped and `finish()`
    /// reports the truncation instead of a malformed event.
    public mutating func decode(type: String, data: String, atEndOfBody: Bool = false) -> [ProviderEvent] {
        guard !isFinished else { return [] }
        let payload = data.trimmingCharacters(in: .whitespacesAndNewlines)
        if payload.isEmpty { return [] }

        let event: Event
        do {
            event = try json.decode(Event.self, from: Data(payload.utf8))
        } catch {
            if atEndOfBody { return [] }
            return terminate(.failed(.upstreamError("malformed event: " + OpenAIStreamDecoder.excerpt(payload))))
        }

        // Anthropic only sends `error` in `error` events; a proxy that relabels the event must
        // still not turn a failure into silence.
        if event.error != nil { return terminate(.failed(Self.turnError(event.error))) }

        switch event.type ?? type {
        case "message_start":
            if let usage = event.message?.usage { assignInput(usage) }
        case "content_block_delta":
            if let delta = event.delta, delta.type == "text_delta", let text = delta.text, !text.isEmpty {
                tally.countOutput(text)
                return [.text(text)]
            }
        case "message_delta":
            if let reason = event.delta?.stopReason, !reason.isEmpty { stopReason = reason }
            if let usage = event.usage {
                assignInput(usage)
                if let output = usage.outputTokens { tally.reportedOutputTokens = output }
            }
        case "message_stop":
            return terminate(.finished(upstreamReason: stopReason))
        case "error":
            return terminate(.failed(Self.turnError(nil)))
        default:
            break  // ping, content_block_start/stop, and types added after this was written
        }
        return []
    }

    /// The stream ended without `message_stop` (body end, transport error, timeout). A stream that
    /// carried a `stop_reason` is complete (`.finished`), as with OpenAI's `finish_reason`;
    /// otherwise the answer was cut: `.failed(failure)`.
    public mutating func finish(failure: TurnError = .upstreamTruncated) -> [ProviderEvent] {
        guard !isFinished else { return [] }
        if let stopReason { return terminate(.finished(upstreamReason: stopReason)) }
        return terminate(.failed(failure))
    }

    /// Ends the stream with `error` whatever was seen; still preceded by usage.
    public mutating func fail(_ error: TurnError) -> [ProviderEvent] {
        guard !isFinished else { return [] }
        return terminate(.failed(error))
    }

    /// The usage to report now: the upstream's, completed by estimates where it gave none.
    public var usage: TokenUsage { tally.usage }

    private mutating func assignInput(_ usage: Usage) {
        inputParts.assign(usage)
        tally.reportedInputTokens = inputParts.total
    }

    private mutating func terminate(_ terminal: ProviderEvent) -> [ProviderEvent] {
        isFinished = true
        return [.usage(usage), terminal]
    }

    private static func turnError(_ error: ErrorObject?) -> TurnError {
        guard let error else { return .upstreamError("the upstream sent an error event without details") }
        let retryable = error.type.map(retryableErrorTypes.contains) ?? false
        return .upstreamError(error.payload.detail, overloaded: retryable || error.payload.isOverload)
    }
}

/// Anthropic's input count comes in three parts that may arrive in different events.
private struct InputParts {
    var uncached: Int?
    var cacheCreation: Int?
    var cacheRead: Int?

    mutating func assign(_ usage: Usage) {
        if let value = usage.inputTokens { uncached = value }
        if let value = usage.cacheCreationInputTokens { cacheCreation = value }
        if let value = usage.cacheReadInputTokens { cacheRead = value }
    }

    /// Nil until `input_tokens` itself was reported: cache counts alone are not the prompt's size.
    var total: Int? {
        uncached.map { $0 + (cacheCreation ?? 0) + (cacheRead ?? 0) }
    }
}

// MARK: - Wire format (only the fields we use; unknown fields and nulls are fine)

private struct Event: Decodable {
    var type: String?
    var message: Message?
    var delta: Delta?
    var usage: Usage?
    var error: ErrorObject?
}

private struct Message: Decodable {
    var usage: Usage?
}

/// `content_block_delta` (`type`, `text`) and `message_delta` (`stop_reason`) share the key.
private struct Delta: Decodable {
    var type: String?
    var text: String?
    var stopReason: String?

    enum CodingKeys: String, CodingKey {
        case type, text
        case stopReason = "stop_reason"
    }
}

private struct Usage: Decodable {
    var inputTokens: Int?
    var outputTokens: Int?
    var cacheCreationInputTokens: Int?
    var cacheReadInputTokens: Int?

    enum CodingKeys: String, CodingKey {
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case cacheCreationInputTokens = "cache_creation_input_tokens"
        case cacheReadInputTokens = "cache_read_input_tokens"
    }
}

/// `{"type": "overloaded_error", "message": "Overloaded"}`: the shared payload reader for the
/// text, plus the `type` on its own for the retry decision.
private struct ErrorObject: Decodable {
    var payload: UpstreamErrorPayload
    var type: String?

    private enum CodingKeys: String, CodingKey { case type }

    init(from decoder: Decoder) throws {
        payload = try UpstreamErrorPayload(from: decoder)
        // Absent or odd (a bare-string error has no keys): no type, and the error still reads.
        let keyed = try? decoder.container(keyedBy: CodingKeys.self)
        type = keyed.flatMap { try? $0.decodeIfPresent(String.self, forKey: .type) }
    }
}
