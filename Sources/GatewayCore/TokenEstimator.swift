/// Token counts where the upstream gives none: about 4 UTF-8 bytes per token (the rule of thumb
/// for English BPE vocabularies), rounded up, plus 4 tokens of framing per chat message.
/// Documented in docs/protocol.md; results carry `estimated: true`.
public enum TokenEstimator {
    public static let bytesPerToken = 4
    public static let tokensPerMessage = 4

    public static func tokens(in text: String) -> Int {
        tokens(utf8Count: text.utf8.count)
    }

    /// Same rule from a byte count, for streams that count relayed bytes instead of keeping the text.
    public static func tokens(utf8Count bytes: Int) -> Int {
        (bytes + bytesPerToken - 1) / bytesPerToken
    }

    public static func inputTokens(of messages: [ChatMessage]) -> Int {
        messages.reduce(0) { $0 + tokens(in: $1.content) + tokensPerMessage }
    }
}
