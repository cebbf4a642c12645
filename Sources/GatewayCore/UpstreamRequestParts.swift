import Foundation

/// What every dialect's request builder does the same way: JSON bodies, the streaming request's
/// headers, base URLs, and the output cap.
enum UpstreamRequestParts {
    /// Sorted keys and unescaped slashes: stable bytes for tests and logs.
    static func json<Body: Encodable>(_ body: Body) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Bodies hold only strings, numbers and booleans: encoding cannot fail.
        return Array((try? encoder.encode(body)) ?? Data())
    }

    /// Headers in order, then `credential` when there is one. `Expect:` is sent empty so curl never
    /// waits for `100 Continue` on larger bodies (servers such as llama.cpp do not answer it).
    static func headers(accept: String, extra: [(name: String, value: String)] = [],
                        credential: (name: String, value: String)?) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json"), ("Accept", accept)]
        headers += extra
        headers.append(("Expect", ""))
        if let credential { headers.append(credential) }
        return headers
    }

    /// `base` without trailing slashes, and without `suffix` (e.g. `/v1`) if it ends with it.
    static func trimmed(_ base: String, dropping suffix: String? = nil) -> Substring {
        var trimmed = Substring(base)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if let suffix, trimmed.hasSuffix(suffix) { trimmed = trimmed.dropLast(suffix.count) }
        return trimmed
    }

    /// Joins the texts of merged messages.
    static let mergeSeparator = "\n\n"

    /// Empty messages dropped and consecutive messages of one role joined: after a reply that failed
    /// before any text, two user messages would follow each other, which strict chat templates
    /// (Mistral-style, in vLLM or llama.cpp) refuse with a 400.
    static func mergingConsecutiveRoles(_ messages: [ChatMessage]) -> [ChatMessage] {
        var merged: [ChatMessage] = []
        for message in messages where !message.content.isEmpty {
            if let last = merged.last, last.role == message.role {
                merged[merged.count - 1].content = last.content + mergeSeparator + message.content
            } else {
                merged.append(message)
            }
        }
        return merged
    }

    /// The configured cap and the request's own: the smaller wins; nil when neither is set.
    static func outputCap(_ configured: Int?, _ requested: Int?) -> Int? {
        [configured, requested].compactMap { $0 }.min()
    }
}
