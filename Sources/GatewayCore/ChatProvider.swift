/// The seam between turns and whatever produces model text: the built-in demo model, an
/// OpenAI-compatible server over libcurl, or a scripted twin in tests.
///
/// Contract: after `startStream`, the provider calls `onEvent` from any thread, in order, and ends
/// with exactly one terminal event (`.finished` or `.failed`), unless `cancel()` was called first;
/// after `cancel()` it may stay silent. Callers guard against anything after a terminal event.
public protocol ChatProvider: Sendable {
    /// Shown to users as the model name in `turn.start` (`demo` for the built-in one).
    var displayName: String { get }
    func startStream(_ request: ChatRequest, onEvent: @escaping @Sendable (ProviderEvent) -> Void) -> any ProviderStream
}

/// A running upstream stream; cancelling aborts the transfer at once (the upstream sees its connection close).
public protocol ProviderStream: Sendable {
    func cancel()
}

public enum ChatRole: String, Sendable, Equatable {
    case system, user, assistant
}

public struct ChatMessage: Sendable, Equatable {
    public var role: ChatRole
    public var content: String
    public init(role: ChatRole, content: String) {
        self.role = role
        self.content = content
    }
}

public struct ChatRequest: Sendable, Equatable {
    public var session: String
    public var turn: String
    /// System prompt first, then the history, ending with the user's new message.
    public var messages: [ChatMessage]
    public var maxOutputTokens: Int?
    public init(session: String, turn: String, messages: [ChatMessage], maxOutputTokens: Int? = nil) {
        self.session = session
        self.turn = turn
        self.messages = messages
        self.maxOutputTokens = maxOutputTokens
    }
}

public struct TokenUsage: Sendable, Equatable {
    public var inputTokens: Int
    public var outputTokens: Int
    /// True when the upstream gave no usage and the numbers come from `TokenEstimator`.
    public var estimated: Bool
    /// The reply came from the response cache: the counts are the original request's, and no
    /// model was called for this turn.
    public var cached: Bool
    public init(inputTokens: Int, outputTokens: Int, estimated: Bool, cached: Bool = false) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.estimated = estimated
        self.cached = cached
    }
}

public enum ProviderEvent: Sendable, Equatable {
    /// Model text, relayed as `turn.delta`. Never empty.
    case text(String)
    /// Usage totals as the upstream reported them (assign, do not add).
    case usage(TokenUsage)
    /// Normal end. `upstreamReason` is the upstream's finish reason (nil for `[DONE]` with none).
    case finished(upstreamReason: String?)
    /// Abnormal end; text already relayed stays in the log.
    case failed(TurnError)

    public var isTerminal: Bool {
        switch self {
        case .finished, .failed: return true
        case .text, .usage: return false
        }
    }
}
