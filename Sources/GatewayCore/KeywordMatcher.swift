/// Case-insensitive word and phrase matching for routing (`keywords_any`).
///
/// Text and keywords are compared lowercased, with every run of whitespace read as one space. A
/// keyword matches where it appears with word boundaries at its ends: `refund` matches "Refund
/// please" and "(refund)" but not "refunded"; `reset password` matches "reset   Password!". A
/// boundary is only checked at an end that is a letter, digit or `_`, so `c++` and `.env` match
/// as written. A keyword ending in `*` matches any word starting with it: `refund*` matches
/// "refunds" and "refunded".
public struct KeywordMatcher: Sendable, Equatable {
    private struct Keyword: Sendable, Equatable {
        let original: String
        let characters: [Character]
        let isPrefix: Bool
    }

    public let keywords: [String]
    private let compiled: [Keyword]

    /// Keywords that are empty (or only `*` and whitespace) never match.
    public init(keywords: [String]) {
        self.keywords = keywords
        compiled = keywords.compactMap { keyword in
            let isPrefix = keyword.hasSuffix("*")
            let characters = Self.searchable(String(isPrefix ? keyword.dropLast() : keyword[...]))
            return characters.isEmpty ? nil : Keyword(original: keyword, characters: characters, isPrefix: isPrefix)
        }
    }

    /// Text in the form keywords are searched in; compute it once per message for all rules.
    public static func searchable(_ text: String) -> [Character] { Array(text.lowercased().collapsingWhitespace) }

    /// The first keyword found in `text` (a `searchable` form), or nil.
    public func firstMatch(in text: [Character]) -> String? {
        compiled.first { Self.occurs($0, in: text) }?.original
    }

    public func matches(_ text: String) -> Bool { firstMatch(in: Self.searchable(text)) != nil }

    private static func occurs(_ keyword: Keyword, in text: [Character]) -> Bool {
        let needle = keyword.characters
        guard needle.count <= text.count else { return false }
        let checksStart = isWordCharacter(needle[0])
        let checksEnd = !keyword.isPrefix && isWordCharacter(needle[needle.count - 1])
        var start = 0
        while start + needle.count <= text.count {
            if text[start] == needle[0], text[start..<(start + needle.count)].elementsEqual(needle),
               !(checksStart && start > 0 && isWordCharacter(text[start - 1])),
               !(checksEnd && start + needle.count < text.count && isWordCharacter(text[start + needle.count])) {
                return true
            }
            start += 1
        }
        return false
    }

    static func isWordCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || character == "_"
    }
}
