/// Who is present in which session, as a pure value: per session, each user's tabs (a tab is one
/// connection on one node) with the role each tab said. Adding, removing and typing return the
/// presence event to publish, or nil when it changes nothing anyone sees: a user's second tab is
/// no join, and closing one of two tabs is no leave (dedup per user across tabs and nodes).
///
/// The in-memory backend keeps the whole roster in one of these; the Redis backend keeps its own
/// node's tabs in one (what it re-registers after Redis lost them) while Redis holds the whole.
public struct PresenceRoster: Sendable, Equatable {
    /// One connection on one node.
    public struct Tab: Hashable, Sendable {
        public let node: String
        public let connection: ConnectionID
        public init(node: String, connection: ConnectionID) {
            self.node = node
            self.connection = connection
        }
    }

    /// One tab's registration, as a node re-registers it.
    public struct Entry: Hashable, Sendable {
        public let session: String
        public let connection: ConnectionID
        public let user: String
        public let role: String
        public init(session: String, connection: ConnectionID, user: String, role: String) {
            self.session = session
            self.connection = connection
            self.user = user
            self.role = role
        }
    }

    private struct Room: Equatable {
        /// user -> that user's tabs -> the role each tab gave.
        var users: [String: [Tab: String]] = [:]
        var userOfTab: [Tab: String] = [:]

        func member(_ user: String) -> PresenceMember? {
            guard let tabs = users[user], let first = tabs.values.first else { return nil }
            return PresenceMember(user: user, role: tabs.values.reduce(first, PresenceMember.shownRole))
        }

        var members: [PresenceMember] { PresenceMember.sorted(users.keys.compactMap(member)) }
    }

    private var rooms: [String: Room] = [:]

    public init() {}

    /// Sessions with anyone present.
    public var sessions: [String] { Array(rooms.keys) }

    public var isEmpty: Bool { rooms.isEmpty }

    /// A `join` when this is the user's first tab in the session, else nil. Adding a tab again
    /// (re-registering) only updates its role.
    public mutating func add(session: String, tab: Tab, user: String, role: String) -> PresenceUpdate? {
        var room = rooms[session] ?? Room()
        if let previous = room.userOfTab[tab], previous != user {
            // A connection speaks for one user; a tab re-registered under another user moves.
            room.users[previous]?[tab] = nil
            if room.users[previous]?.isEmpty == true { room.users[previous] = nil }
        }
        let isNew = room.users[user] == nil
        room.users[user, default: [:]][tab] = role
        room.userOfTab[tab] = user
        rooms[session] = room
        return isNew ? PresenceUpdate(session: session, event: .join, user: user, users: room.members) : nil
    }

    /// A `leave` when this was the user's last tab in the session, else nil (also for an unknown tab).
    public mutating func remove(session: String, tab: Tab) -> PresenceUpdate? {
        guard var room = rooms[session], let user = room.userOfTab.removeValue(forKey: tab) else { return nil }
        room.users[user]?[tab] = nil
        let isGone = room.users[user]?.isEmpty ?? true
        if isGone { room.users[user] = nil }
        rooms[session] = room.userOfTab.isEmpty ? nil : room
        return isGone ? PresenceUpdate(session: session, event: .leave, user: user, users: room.members) : nil
    }

    /// A `typing` for the tab's user, nil when the tab is not present in the session.
    public func typing(session: String, tab: Tab) -> PresenceUpdate? {
        guard let room = rooms[session], let user = room.userOfTab[tab] else { return nil }
        return PresenceUpdate(session: session, event: .typing, user: user, users: room.members)
    }

    /// Removes every tab of `node` (it stopped, or its lease ran out): one `leave` per user who had
    /// no tab left elsewhere, sessions in id order and users in user order within one.
    public mutating func removeNode(_ node: String) -> [PresenceUpdate] {
        var updates: [PresenceUpdate] = []
        for session in rooms.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            guard var room = rooms[session] else { continue }
            let before = room.members
            for tab in room.userOfTab.keys where tab.node == node {
                let user = room.userOfTab.removeValue(forKey: tab)!
                room.users[user]?[tab] = nil
                if room.users[user]?.isEmpty == true { room.users[user] = nil }
            }
            rooms[session] = room.userOfTab.isEmpty ? nil : room
            let departed = before.filter { room.users[$0.user] == nil }
            updates += PresenceUpdate.series(session: session, event: .leave, subjects: departed, final: room.members)
        }
        return updates
    }

    /// Everyone present in the session, sorted.
    public func users(in session: String) -> [PresenceMember] {
        rooms[session]?.members ?? []
    }

    /// The user as shown in the session (with the role of all their tabs), nil if not present.
    public func member(_ user: String, in session: String) -> PresenceMember? {
        rooms[session]?.member(user)
    }

    public func user(of tab: Tab, in session: String) -> String? {
        rooms[session]?.userOfTab[tab]
    }

    /// The connections of `node` present in the session, in id order: whom that node delivers to.
    public func connections(in session: String, node: String) -> [ConnectionID] {
        guard let room = rooms[session] else { return [] }
        return room.userOfTab.keys.filter { $0.node == node }.map(\.connection).sorted { $0.rawValue < $1.rawValue }
    }

    /// Every tab of `node`, sessions and connections in order: what it registers again.
    public func entries(of node: String) -> [Entry] {
        rooms.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).flatMap { session in
            let room = rooms[session]!
            return room.userOfTab.filter { $0.key.node == node }
                .sorted { $0.key.connection.rawValue < $1.key.connection.rawValue }
                .map { tab, user in
                    Entry(session: session, connection: tab.connection, user: user, role: room.users[user]![tab]!)
                }
        }
    }
}
