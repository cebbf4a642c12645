import Foundation

/// Reads the raw SSE body the scripted upstream streams: its `data:` payloads and the chunks
/// inside them, so tests can check what arrived without the decoder under test.
struct StreamedBody {
    /// Every `data:` payload in order (`[DONE]` included).
    let payloads: [String]

    init(_ text: String) {
        payloads = text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r" })
            .filter { $0.hasPrefix("data:") }
            .map { $0.dropFirst(5).trimmingCharacters(in: .whitespaces) }
    }

    private var chunks: [[String: Any]] {
        payloads.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// `choices[0].delta.content` of every chunk that has one, in order.
    var contents: [String] {
        chunks.compactMap { chunk in
            guard let choices = chunk["choices"] as? [[String: Any]], let delta = choices.first?["delta"] as? [String: Any] else {
                return nil
            }
            return delta["content"] as? String
        }
    }

    /// The distinct `model` values the chunks name.
    var models: Set<String> { Set(chunks.compactMap { $0["model"] as? String }) }
}
