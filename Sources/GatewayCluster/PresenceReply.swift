import GatewayCore
import GatewayRedis

/// A presence script's reply, `{version, published, lost, roster}` (see `PresenceScript`).
struct PresenceReply: Sendable, Equatable {
    /// The session's version after the operation (0 for a session nobody is in).
    let version: Int64
    /// The operation published an event (join of a first tab, leave of a last one, typing);
    /// for a sweep, how many nodes it removed.
    let published: Int
    /// The node's lease was gone: it was swept, or Redis lost it. The node must re-register.
    let leaseLost: Bool
    let users: [PresenceMember]

    init(version: Int64, published: Int, leaseLost: Bool, users: [PresenceMember]) {
        self.version = version
        self.published = published
        self.leaseLost = leaseLost
        self.users = users
    }

    /// nil for anything that is not such a reply.
    init?(_ value: RedisValue) {
        guard let parts = value.array, parts.count == 4,
              let versionText = parts[0].string, let version = Int64(versionText),
              let published = parts[1].integer, let lost = parts[2].integer,
              let flat = parts[3].array, flat.count % 2 == 0 else { return nil }
        var users: [PresenceMember] = []
        users.reserveCapacity(flat.count / 2)
        for index in stride(from: 0, to: flat.count, by: 2) {
            guard let user = flat[index].string, let role = flat[index + 1].string else { return nil }
            users.append(PresenceMember(user: user, role: role))
        }
        self.init(version: version, published: Int(published), leaseLost: lost != 0, users: PresenceMember.sorted(users))
    }
}
