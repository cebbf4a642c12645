/// What routing looks at in a turn, measured once and shared by every rule.
public struct RoutingInput: Sendable, Equatable {
    /// The new user message's length in `Character`s (what a person would call characters).
    public let characterCount: Int
    /// `CodeDetector.looksLikeCode` of the new message.
    public let hasCode: Bool
    /// Messages of the session before the new one (user and assistant; system prompts not counted).
    public let earlierMessages: Int
    public let tenant: String?
    /// The new message in `KeywordMatcher.searchable` form.
    let searchableText: [Character]

    public init(message: String, earlierMessages: Int, tenant: String?) {
        characterCount = message.count
        hasCode = CodeDetector.looksLikeCode(message)
        self.earlierMessages = earlierMessages
        self.tenant = tenant
        searchableText = KeywordMatcher.searchable(message)
    }

    /// From a turn's messages as `ChatRequest` holds them: the last one is the new message.
    public init(messages: [ChatMessage], tenant: String?) {
        let earlier = messages.dropLast().filter { $0.role != .system }.count
        self.init(message: messages.last?.content ?? "", earlierMessages: earlier, tenant: tenant)
    }
}
