/// The usage rule every dialect's decoder shares, in one place: what the upstream reported wins;
/// what it did not report is estimated (`TokenEstimator` on the request messages and on the
/// relayed text) and then the whole result is marked `estimated`.
///
/// Decoders assign the reported counts as they arrive (upstreams send totals, never increments),
/// count the text they relay, and read `usage` once, right before their terminal event.
public struct StreamUsageTally: Sendable, Equatable {
    public let estimatedInputTokens: Int
    /// UTF-8 bytes of the text relayed so far (the output estimate is made from it).
    public private(set) var outputBytes = 0
    /// The upstream's input total, nil until it reports one.
    public var reportedInputTokens: Int?
    /// The upstream's output total, nil until it reports one.
    public var reportedOutputTokens: Int?

    /// `requestMessages` are only used to estimate input tokens when the upstream reports none.
    public init(requestMessages: [ChatMessage]) {
        self.estimatedInputTokens = TokenEstimator.inputTokens(of: requestMessages)
    }

    public mutating func countOutput(_ text: String) {
        outputBytes += text.utf8.count
    }

    public var usage: TokenUsage {
        TokenUsage(inputTokens: reportedInputTokens ?? estimatedInputTokens,
                   outputTokens: reportedOutputTokens ?? TokenEstimator.tokens(utf8Count: outputBytes),
                   estimated: reportedInputTokens == nil || reportedOutputTokens == nil)
    }
}
