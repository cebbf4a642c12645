/// Every dialect's finish reasons, mapped to the client's `turn.end.finish` in one pure place.
extension TurnFinish {
    /// Upstream reasons that mean "the output was cut by a token limit": OpenAI-compatible and
    /// Ollama `length`, Anthropic `max_tokens`, OpenAI Responses `max_output_tokens`, Anthropic
    /// `model_context_window_exceeded` (the context filled up before the answer ended).
    public static let lengthLikeUpstreamReasons: Set<String> = [
        "length", "max_tokens", "max_output_tokens", "model_context_window_exceeded",
    ]

    /// The finish of a turn whose upstream stream ended normally (`ProviderEvent.finished`):
    /// `.length` for a length-like reason, else `.stop` (stop, end_turn, stop_sequence, tool calls,
    /// content filters, a missing reason). Reasons are compared case-insensitively because servers
    /// that mimic an API do not always copy its spelling.
    public init(upstreamReason: String?) {
        guard let reason = upstreamReason?.lowercased() else {
            self = .stop
            return
        }
        self = Self.lengthLikeUpstreamReasons.contains(reason) ? .length : .stop
    }
}
