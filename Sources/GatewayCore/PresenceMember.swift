/// One user present in a session, as `presence.users` lists them: a user shows once however many
/// tabs (connections, on any node) they have open.
public struct PresenceMember: Sendable, Hashable {
    public let user: String
    public let role: String

    public init(user: String, role: String) {
        self.user = user
        self.role = role
    }

    /// The order of `presence.users`: by the user id's UTF-8 bytes, which every node (and the Lua
    /// scripts' callers) computes the same way, whatever the locale.
    public static func precedes(_ a: PresenceMember, _ b: PresenceMember) -> Bool {
        a.user.utf8.lexicographicallyPrecedes(b.user.utf8)
    }

    public static func sorted<S: Sequence>(_ members: S) -> [PresenceMember] where S.Element == PresenceMember {
        members.sorted(by: precedes)
    }

    /// The role a user shows when their tabs say different things: the most privileged one
    /// (admin, then agent, then user; an unknown role below those, the smaller id first). It depends
    /// only on the set of tabs, not on the order they came in, so every backend agrees on it.
    public static func shownRole(_ a: String, _ b: String) -> String {
        let (rankA, rankB) = (rank(a), rank(b))
        if rankA != rankB { return rankA > rankB ? a : b }
        return a.utf8.lexicographicallyPrecedes(b.utf8) ? a : b
    }

    private static func rank(_ role: String) -> Int {
        switch role {
        case "admin": 3
        case "agent": 2
        case "user": 1
        default: 0
        }
    }
}
