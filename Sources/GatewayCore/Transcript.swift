/// The conversation as people read it, kept beside the event log: it feeds snapshots (for
/// subscribers whose position the log no longer holds) and the history sent to the model.
/// It outlives log trimming but is itself capped at `maxEntries` (oldest dropped first).
public struct Transcript: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var id: String
        public var role: ChatRole
        public var author: String
        public var text: String
        public var turn: String?
        public var model: String?
        public var streaming: Bool
        public var finish: TurnFinish?

        public init(id: String, role: ChatRole, author: String, text: String, turn: String? = nil, model: String? = nil,
                    streaming: Bool = false, finish: TurnFinish? = nil) {
            self.id = id
            self.role = role
            self.author = author
            self.text = text
            self.turn = turn
            self.model = model
            self.streaming = streaming
            self.finish = finish
        }
    }

    public private(set) var entries: [Entry] = []
    public let maxEntries: Int

    public init(maxEntries: Int = 1000) {
        self.maxEntries = max(2, maxEntries)
    }

    /// A transcript read back from a shared store (oldest first), cut to `maxEntries` like one built here.
    public init(maxEntries: Int = 1000, entries: [Entry]) {
        self.init(maxEntries: maxEntries)
        self.entries = Array(entries.suffix(self.maxEntries))
    }

    public mutating func apply(_ body: SessionEventBody) {
        switch body {
        case .message(let id, let author, let text):
            append(Entry(id: id, role: .user, author: author, text: text, turn: nil, model: nil, streaming: false, finish: nil))
        case .turnStart(let turn, let model, _, _):
            append(Entry(id: turn, role: .assistant, author: model, text: "", turn: turn, model: model, streaming: true, finish: nil))
        case .turnDelta(let turn, let text):
            if let index = lastIndex(ofTurn: turn) { entries[index].text += text }
        case .turnEnd(let turn, let finish, _, _, _):
            if let index = lastIndex(ofTurn: turn) {
                entries[index].streaming = false
                entries[index].finish = finish
            }
        }
    }

    /// The last `limit` finished exchanges as chat messages; unfinished or empty replies are left out.
    public func history(limit: Int) -> [ChatMessage] {
        var messages: [ChatMessage] = []
        for entry in entries.reversed() where messages.count < limit {
            if entry.role == .assistant && (entry.streaming || entry.text.isEmpty) { continue }
            messages.append(ChatMessage(role: entry.role, content: entry.text))
        }
        return messages.reversed()
    }

    private func lastIndex(ofTurn turn: String) -> Int? {
        // The turn being streamed is almost always the last entry.
        entries.lastIndex { $0.turn == turn }
    }

    private mutating func append(_ entry: Entry) {
        entries.append(entry)
        if entries.count > maxEntries { entries.removeFirst(entries.count - maxEntries) }
    }
}
