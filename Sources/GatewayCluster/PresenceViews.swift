import GatewayCore

/// What this node's connections were last told about each session they are present in, and the
/// version (from Redis) that roster was current at. Redis reaches a node on two paths, the
/// replies to its own scripts and the session's channel, in either order; the versions put them
/// back in order, so the node's connections never go back to an older roster and never get one
/// event twice.
///
/// The node's own tabs (`local`) are always shown present: they are, whatever Redis says while it
/// is unreachable, has lost them, or has an in-flight sweep of this node's lapsed lease. `local`
/// is only those already told they are present (a joining tab waiting for its own roster is not).
/// Without a reply (Redis unreachable) the view changes by the local event alone.
struct PresenceViews: Sendable, Equatable {
    struct View: Sendable, Equatable {
        var version: Int64 = 0
        var users: [PresenceMember] = []
    }

    private(set) var views: [String: View] = [:]

    var sessions: [String] { Array(views.keys) }

    func view(_ session: String) -> View? { views[session] }

    /// When the node's first tab in the session arrives.
    mutating func open(_ session: String) {
        if views[session] == nil { views[session] = View() }
    }

    /// When its last tab goes: nothing of the session is delivered any more.
    mutating func close(_ session: String) {
        views[session] = nil
    }

    /// An event from the session's channel: the updates for the node's connections. An event
    /// older than the view (a reply or a refresh got ahead of the channel) is in the roster
    /// already: a join or leave of it is dropped, a typing still told, with the current roster.
    mutating func apply(_ message: PresenceMessage, session: String, local: [PresenceMember]) -> [PresenceUpdate] {
        guard let view = views[session] else { return [] }
        guard message.version > view.version else {
            guard message.event == .typing else { return [] }
            let present = message.subjects.filter { subject in view.users.contains { $0.user == subject.user } }
            return PresenceUpdate.series(session: session, event: .typing, subjects: present, final: view.users)
        }
        let users = Self.merge(message.users, local)
        let shown = Set(view.users.map(\.user)), now = Set(users.map(\.user))
        // Only what changes what the connections were told: a re-registered node's users that
        // never left (for them) join again in Redis, this node's own users never leave here.
        let subjects = message.subjects.filter { subject in
            switch message.event {
            case .join: !shown.contains(subject.user)
            case .leave: shown.contains(subject.user) && !now.contains(subject.user)
            case .typing: now.contains(subject.user)
            }
        }
        views[session] = View(version: message.version, users: users)
        return PresenceUpdate.series(session: session, event: message.event, subjects: subjects, final: users)
    }

    /// A roster read afresh (after subscribing, after a re-registration): the events from what
    /// the connections were told to it.
    mutating func refresh(session: String, version: Int64, users: [PresenceMember], local: [PresenceMember]) -> [PresenceUpdate] {
        advance(session: session, to: (version, users), local: local)
    }

    /// The reply to this node's join (nil: none came). `others` go to the session's other local
    /// connections, `own` to the joining one alone.
    mutating func joined(session: String, user: String, reply: PresenceReply?,
                         local: [PresenceMember]) -> (others: [PresenceUpdate], own: PresenceUpdate)? {
        guard views[session] != nil else { return nil }
        let others = advance(session: session, to: reply.map { ($0.version, $0.users) }, local: local)
        return (others, PresenceUpdate(session: session, event: .join, user: user, users: views[session]!.users))
    }

    /// The reply to this node's leave (nil: none came). Without one the user leaves the view
    /// unless they have another tab here (they may have tabs elsewhere: a later refresh says).
    mutating func left(session: String, user: String, reply: PresenceReply?, local: [PresenceMember]) -> [PresenceUpdate] {
        guard var view = views[session] else { return [] }
        if let reply { return advance(session: session, to: (reply.version, reply.users), local: local) }
        guard !local.contains(where: { $0.user == user }), view.users.contains(where: { $0.user == user }) else { return [] }
        view.users.removeAll { $0.user == user }
        views[session] = view
        return [PresenceUpdate(session: session, event: .leave, user: user, users: view.users)]
    }

    /// This node's typing that Redis did not publish (unreachable, or it did not know the tab):
    /// told here alone. A published one comes back on the channel, in order with the others'.
    func typedLocally(session: String, user: String) -> [PresenceUpdate] {
        guard let view = views[session], view.users.contains(where: { $0.user == user }) else { return [] }
        return [PresenceUpdate(session: session, event: .typing, user: user, users: view.users)]
    }

    /// Moves the view to `fresh` when it is not older, keeping local users present; returns the
    /// events between what was shown and what is now.
    private mutating func advance(session: String, to fresh: (version: Int64, users: [PresenceMember])?,
                                  local: [PresenceMember]) -> [PresenceUpdate] {
        guard var view = views[session] else { return [] }
        let shown = view.users
        if let fresh, fresh.version >= view.version {
            view.version = fresh.version
            view.users = Self.merge(fresh.users, local)
        } else {
            view.users = Self.merge(view.users, local)
        }
        views[session] = view
        return PresenceUpdate.difference(session: session, from: shown, to: view.users)
    }

    /// `users` plus the local ones it lacks, sorted.
    static func merge(_ users: [PresenceMember], _ local: [PresenceMember]) -> [PresenceMember] {
        let known = Set(users.map(\.user))
        return PresenceMember.sorted(users + local.filter { !known.contains($0.user) })
    }
}
