/// A presence event of one session (docs/protocol.md, "Presence"): who joined, left or is typing,
/// and `users`, everyone present after the change. Presence is not part of the session log: it
/// has no seq and is never replayed.
public struct PresenceUpdate: Sendable, Hashable {
    public enum Event: String, Sendable, Hashable {
        case join, leave, typing
    }

    public let session: String
    public let event: Event
    public let user: String
    /// Sorted by `PresenceMember.precedes`.
    public let users: [PresenceMember]

    /// `users` is sorted here, so callers may pass any order.
    public init(session: String, event: Event, user: String, users: [PresenceMember]) {
        self.session = session
        self.event = event
        self.user = user
        self.users = PresenceMember.sorted(users)
    }

    /// One change that moved several users at once (a swept node, a re-registered one), told as
    /// one event per user, in user order, each with the roster as it stands after that user:
    /// leaves count down to `final`, joins count up to it.
    public static func series(session: String, event: Event, subjects: [PresenceMember],
                              final: [PresenceMember]) -> [PresenceUpdate] {
        let ordered = PresenceMember.sorted(subjects)
        let finalUsers = PresenceMember.sorted(final)
        return ordered.indices.map { index in
            let later = Set(ordered[(index + 1)...].map(\.user))
            let users: [PresenceMember]
            switch event {
            case .leave: users = finalUsers.filter { !later.contains($0.user) } + ordered[(index + 1)...]
            case .join: users = finalUsers.filter { !later.contains($0.user) }
            case .typing: users = finalUsers
            }
            return PresenceUpdate(session: session, event: event, user: ordered[index].user, users: users)
        }
    }

    /// The events that take a client from roster `old` to roster `new`: leaves first, then joins.
    /// A user in both (with whatever role) is no event; their role is the one in `new`.
    public static func difference(session: String, from old: [PresenceMember],
                                  to new: [PresenceMember]) -> [PresenceUpdate] {
        let oldUsers = Set(old.map(\.user))
        let newUsers = Set(new.map(\.user))
        let departed = old.filter { !newUsers.contains($0.user) }
        let arrived = new.filter { !oldUsers.contains($0.user) }
        let common = new.filter { oldUsers.contains($0.user) }
        return series(session: session, event: .leave, subjects: departed, final: common)
            + series(session: session, event: .join, subjects: arrived, final: new)
    }
}
