import Dispatch
import GatewayCore

/// The built-in model: no network, deterministic text at a steady rate. It lets the gateway run,
/// be demoed and be load-tested without an LLM.
///
/// The reply opens with a sentence saying what it is, then continues with filler words chosen by a
/// generator seeded from the user's last message, so the same prompt always gets the same reply
/// and different prompts get different ones. A token is one word plus its following space (the
/// last word ends with "." instead).
///
/// Usage: `estimated: false`. The demo defines its own tokenization: input is counted with the
/// `TokenEstimator` rule (that rule *is* the demo's tokenizer) and output is the exact number of
/// tokens it emitted. The reply stops early with finish reason `length` when the request's
/// `maxOutputTokens` is below the configured length, else it ends with `stop`.
///
/// Timers: one `DemoTicker` paces every running reply, on one shared serial queue (no thread or
/// timer per turn). Above 50 tokens/s a tick emits several tokens, so ticks stay at 50 per second.
public final class DemoProvider: ChatProvider {
    public let displayName = "demo"
    public let tokensPerSecond: Double
    public let replyTokens: Int

    /// Shared by every demo stream; each tick does a few microseconds of work.
    static let queue = DispatchQueue(label: "chat-gateway.demo-provider", qos: .userInitiated)
    static let ticker = DemoTicker(queue: queue)

    public init(tokensPerSecond: Double = 20, replyTokens: Int = 60) {
        precondition(tokensPerSecond > 0 && replyTokens > 0, "the demo needs a positive rate and length")
        self.tokensPerSecond = tokensPerSecond
        self.replyTokens = replyTokens
    }

    public func startStream(_ request: ChatRequest, onEvent: @escaping @Sendable (ProviderEvent) -> Void) -> any ProviderStream {
        let limit = min(replyTokens, request.maxOutputTokens.map { max(1, $0) } ?? replyTokens)
        let stream = DemoStream(tokens: Self.reply(to: request, tokens: limit),
                                finishReason: limit < replyTokens ? "length" : "stop",
                                inputTokens: TokenEstimator.inputTokens(of: request.messages),
                                tokensPerSecond: tokensPerSecond,
                                onEvent: onEvent)
        Self.ticker.add(stream)
        return stream
    }

    // MARK: - Text

    static let introduction = "This is the chat-gateway demo model: no LLM is called, and this reply is generated "
        + "locally from your message so you can watch tokens stream."

    private static let vocabulary = [
        "gateway", "stream", "token", "socket", "message", "session", "replay", "cursor", "upstream",
        "latency", "buffer", "frame", "channel", "widget", "browser", "server", "delta", "turn", "model",
        "reply", "quiet", "bright", "steady", "simple", "careful", "patient", "rapid", "gentle", "clear",
        "small", "every", "another", "across", "through", "after", "before", "while", "because", "so",
        "the", "a", "each", "its", "our", "flows", "waits", "arrives", "returns", "resumes", "carries",
        "keeps", "shows", "sends", "holds", "meets", "follows", "echoes", "travels", "settles", "grows",
    ]

    /// The reply's tokens, a pure function of the last user message and the count.
    static func reply(to request: ChatRequest, tokens count: Int) -> [String] {
        let prompt = request.messages.last(where: { $0.role == .user })?.content ?? ""
        var random = SplitMix64(seed: fnv1a(prompt))
        var words = introduction.split(separator: " ").map(String.init)
        var sentenceLength = 0
        while words.count < count {
            var word = vocabulary[Int(random.next() % UInt64(vocabulary.count))]
            if sentenceLength == 0 { word = word.prefix(1).uppercased() + word.dropFirst() }
            sentenceLength += 1
            if sentenceLength >= 6 && random.next() % 4 == 0 {
                word += "."
                sentenceLength = 0
            }
            words.append(word)
        }
        var tokens = words.prefix(count).map { $0 + " " }
        // The final word ends the reply with a full stop instead of a space.
        var lastWord = String(tokens.removeLast().dropLast())
        if lastWord.hasSuffix(".") || lastWord.hasSuffix(":") { lastWord.removeLast() }
        tokens.append(lastWord + ".")
        return tokens
    }

    /// FNV-1a: stable across runs and platforms (Swift's `Hasher` is seeded per process).
    private static func fnv1a(_ text: String) -> UInt64 {
        text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}

/// Small deterministic generator (SplitMix64); the system generator cannot be seeded.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
