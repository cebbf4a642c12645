/// Fits a turn's messages into a model's context window before they are sent, so a long session
/// costs what the model can use rather than failing upstream with a context-length error.
///
/// Budget: `contextWindow - outputReserve` tokens of input, counted with `TokenEstimator` (1 token
/// per 4 UTF-8 bytes rounded up, plus 4 per message). The estimate is what the gateway can compute
/// without the model's tokenizer; it over-counts English and under-counts some scripts, so leave
/// the window some slack in config rather than trusting it to the token.
///
/// Messages are read as the turn builds them: leading `system` messages, then the history oldest
/// to newest, then the new user message. Trimming, in order:
/// 1. The leading system messages and the newest message are always kept.
/// 2. History is dropped oldest first, in whole exchanges: a user message goes together with the
///    replies that follow it, so the kept history never opens with an answer to a dropped question.
///    Replies before the first user message (a greeting) form an exchange of their own.
/// 3. If the system prompt and the newest message alone are still too large, the newest message's
///    middle is cut and replaced by a marker saying how much was cut. The start is kept because it
///    usually says what a paste is ("here is my log:"), and the larger share (three quarters of
///    the room), the end, because the question usually follows the paste. Cuts fall on `Character`
///    boundaries, never inside one. The marker is `cutMarker(omittedCharacters:)`.
/// 4. If not even the system prompt, the marker and one character fit, `trim` throws: that is a
///    deployment problem (prompt or reserve too large for the window), not something to hide.
public struct ContextTrimmer: Sendable, Equatable {
    public let contextWindow: Int
    public let outputReserve: Int

    /// Tokens of input the trimmed messages may take.
    public var inputBudget: Int { contextWindow - outputReserve }

    /// `outputReserve` is the reply's room (the request's max output tokens).
    public init(contextWindow: Int, outputReserve: Int) {
        self.contextWindow = contextWindow
        self.outputReserve = outputReserve
    }

    public func trim(_ messages: [ChatMessage]) throws(ContextBudgetError) -> TrimmedContext {
        let originalTokens = TokenEstimator.inputTokens(of: messages)
        let systemCount = messages.prefix { $0.role == .system }.count
        guard originalTokens > inputBudget else {
            return TrimmedContext(messages: messages, droppedMessages: 0, droppedTokens: 0, newestMessageCut: false)
        }
        guard systemCount < messages.count else {
            throw ContextBudgetError(requiredTokens: originalTokens, budgetTokens: inputBudget)
        }

        let system = Array(messages[..<systemCount])
        let newest = messages[messages.count - 1]
        let history = messages[systemCount..<(messages.count - 1)]
        let fixedTokens = TokenEstimator.inputTokens(of: system + [newest])

        var keptHistory = history[...]
        var historyTokens = TokenEstimator.inputTokens(of: Array(history))
        var exchanges = Self.exchanges(in: Array(history))[...]
        while fixedTokens + historyTokens > inputBudget, let exchange = exchanges.popFirst() {
            historyTokens -= TokenEstimator.inputTokens(of: Array(keptHistory.prefix(exchange)))
            keptHistory = keptHistory.dropFirst(exchange)
        }

        var kept = system + keptHistory + [newest]
        var cut = false
        if fixedTokens > inputBudget {
            let systemTokens = TokenEstimator.inputTokens(of: system)
            let roomTokens = inputBudget - systemTokens - TokenEstimator.tokensPerMessage
            guard let shortened = Self.cutMiddle(of: newest.content, toFitTokens: roomTokens) else {
                let leastNewest = Self.cutMarker(omittedCharacters: newest.content.count).utf8.count
                    + (newest.content.first?.utf8.count ?? 0)
                throw ContextBudgetError(requiredTokens: systemTokens + TokenEstimator.tokensPerMessage
                                             + TokenEstimator.tokens(utf8Count: leastNewest),
                                         budgetTokens: inputBudget)
            }
            kept = system + [ChatMessage(role: newest.role, content: shortened)]
            cut = true
        }
        return TrimmedContext(messages: kept, droppedMessages: messages.count - kept.count,
                              droppedTokens: originalTokens - TokenEstimator.inputTokens(of: kept),
                              newestMessageCut: cut)
    }

    /// Sizes, in messages, of the history's exchanges oldest first: each user message with the
    /// non-user messages after it, and any messages before the first user message on their own.
    static func exchanges(in history: [ChatMessage]) -> [Int] {
        var sizes: [Int] = []
        for message in history {
            if message.role == .user || sizes.isEmpty { sizes.append(1) } else { sizes[sizes.count - 1] += 1 }
        }
        return sizes
    }

    /// The marker put where text was cut; `count` is the number of characters removed.
    public static func cutMarker(omittedCharacters count: Int) -> String {
        "\n[… \(count) characters cut by the gateway to fit the model's context …]\n"
    }

    /// `text` with its middle replaced by the marker so that it estimates to at most `tokens`, or
    /// nil when the marker and one character of the text do not fit.
    static func cutMiddle(of text: String, toFitTokens tokens: Int) -> String? {
        let characters = Array(text)
        // The marker's real count is at most the whole text's count, so its length can only shrink.
        let markerBytes = cutMarker(omittedCharacters: characters.count).utf8.count
        let roomBytes = tokens * TokenEstimator.bytesPerToken - markerBytes
        guard roomBytes > 0, let first = characters.first, first.utf8.count <= roomBytes else { return nil }

        // A quarter of the room to the start, the rest to the end, where the question usually is.
        let startBudget = roomBytes / 4
        var startCount = 0
        var startBytes = 0
        while startCount < characters.count, startBytes + characters[startCount].utf8.count <= startBudget {
            startBytes += characters[startCount].utf8.count
            startCount += 1
        }
        var endCount = 0
        var endBytes = 0
        while startCount + endCount < characters.count,
              startBytes + endBytes + characters[characters.count - 1 - endCount].utf8.count <= roomBytes {
            endBytes += characters[characters.count - 1 - endCount].utf8.count
            endCount += 1
        }
        if startCount + endCount == 0 { startCount = 1 }
        let omitted = characters.count - startCount - endCount
        return String(characters[..<startCount]) + cutMarker(omittedCharacters: omitted)
            + String(characters[(characters.count - endCount)...])
    }
}

/// What `ContextTrimmer.trim` sends, and what it left out (for the turn's log line).
public struct TrimmedContext: Sendable, Equatable {
    public var messages: [ChatMessage]
    /// Whole history messages left out.
    public var droppedMessages: Int
    /// Estimated tokens left out: whole messages plus the cut part of the newest one.
    public var droppedTokens: Int
    /// True when the newest message's middle was replaced by `ContextTrimmer.cutMarker`.
    public var newestMessageCut: Bool

    public init(messages: [ChatMessage], droppedMessages: Int, droppedTokens: Int, newestMessageCut: Bool) {
        self.messages = messages
        self.droppedMessages = droppedMessages
        self.droppedTokens = droppedTokens
        self.newestMessageCut = newestMessageCut
    }

    public var estimatedInputTokens: Int { TokenEstimator.inputTokens(of: messages) }
}

/// The system prompt (and the least of the newest message) do not fit the model's input budget.
public struct ContextBudgetError: Error, Sendable, Equatable, CustomStringConvertible {
    public var requiredTokens: Int
    public var budgetTokens: Int
    public init(requiredTokens: Int, budgetTokens: Int) {
        self.requiredTokens = requiredTokens
        self.budgetTokens = budgetTokens
    }
    public var description: String {
        "the system prompt needs at least \(requiredTokens) tokens but the model's input budget is \(budgetTokens) (context window minus reply reserve)"
    }
}
