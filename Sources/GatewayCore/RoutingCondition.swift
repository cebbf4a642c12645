/// The `when` of a routing rule: every condition that is set must hold (an empty one always holds).
/// Character bounds are inclusive and count the new message's `Character`s; history bounds count
/// the messages before it (user and assistant).
public struct RoutingCondition: Sendable, Equatable {
    public var maxChars: Int?
    public var minChars: Int?
    public var hasCode: Bool?
    public var keywordsAny: KeywordMatcher?
    /// The turn's tenant must be one of these; a turn without a tenant never matches.
    public var tenants: [String]?
    public var minHistory: Int?
    public var maxHistory: Int?

    public init(maxChars: Int? = nil, minChars: Int? = nil, hasCode: Bool? = nil, keywordsAny: [String]? = nil,
                tenants: [String]? = nil, minHistory: Int? = nil, maxHistory: Int? = nil) {
        self.maxChars = maxChars
        self.minChars = minChars
        self.hasCode = hasCode
        self.keywordsAny = keywordsAny.map { KeywordMatcher(keywords: $0) }
        self.tenants = tenants
        self.minHistory = minHistory
        self.maxHistory = maxHistory
    }

    public func matches(_ input: RoutingInput) -> Bool {
        if let maxChars, input.characterCount > maxChars { return false }
        if let minChars, input.characterCount < minChars { return false }
        if let hasCode, input.hasCode != hasCode { return false }
        if let minHistory, input.earlierMessages < minHistory { return false }
        if let maxHistory, input.earlierMessages > maxHistory { return false }
        if let tenants {
            guard let tenant = input.tenant, tenants.contains(tenant) else { return false }
        }
        if let keywordsAny, keywordsAny.firstMatch(in: input.searchableText) == nil { return false }
        return true
    }

    /// A readable account of the condition, the reason a rule gives when config names none:
    /// "short message (≤ 160 chars), no code".
    public var summary: String {
        var parts: [String] = []
        switch (minChars, maxChars) {
        case let (min?, max?): parts.append("message of \(min)–\(max) chars")
        case let (nil, max?): parts.append("short message (≤ \(max) chars)")
        case let (min?, nil): parts.append("long message (≥ \(min) chars)")
        case (nil, nil): break
        }
        if let hasCode { parts.append(hasCode ? "has code" : "no code") }
        if let keywords = keywordsAny?.keywords { parts.append("mentions \(keywords.joined(separator: " or "))") }
        if let tenants { parts.append("tenant \(tenants.joined(separator: " or "))") }
        switch (minHistory, maxHistory) {
        case let (min?, max?): parts.append("history of \(min)–\(max) messages")
        case let (nil, max?): parts.append("history ≤ \(max) messages")
        case let (min?, nil): parts.append("history ≥ \(min) messages")
        case (nil, nil): break
        }
        return parts.isEmpty ? "always" : parts.joined(separator: ", ")
    }
}
