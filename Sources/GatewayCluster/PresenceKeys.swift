/// Presence's keys and channels, under `ClusterKeys.presencePrefix` (`P:p` below):
/// - `P:p:s:SESSION`  hash, the session's tabs: `NODE|CONNECTION` -> `[user, role]` (JSON), and
///                    `#v`, the version of the last presence event (µs from Redis TIME, so it
///                    keeps growing when the hash goes and comes back); TTL refreshed by the
///                    renewals of the nodes with tabs in it
/// - `P:p:c:SESSION`  pub/sub channel: the session's presence events (`PresenceMessage`)
/// - `P:p:n:NODE`     set, the sessions NODE has tabs in (what a sweep of NODE visits); TTL
/// - `P:p:nodes`      sorted set, node -> lease expiry (ms, Redis TIME); TTL refreshed by every renewal
/// A tab's field starts with its node so a sweep can take exactly that node's tabs out: the part
/// after the last `|` is the connection number (digits), so a node id may hold `|` too.
public struct PresenceKeys: Sendable, Equatable {
    public let prefix: String

    public init(_ keys: ClusterKeys) {
        prefix = keys.presencePrefix
    }

    public var membersPrefix: String { "\(prefix):s:" }
    public var channelPrefix: String { "\(prefix):c:" }
    public var nodeSessionsPrefix: String { "\(prefix):n:" }

    public func members(_ session: String) -> String { membersPrefix + session }
    public func channel(_ session: String) -> String { channelPrefix + session }
    public func nodeSessions(_ node: String) -> String { nodeSessionsPrefix + node }
    public var nodes: String { "\(prefix):nodes" }

    /// The session a `channel` names, nil for any other channel.
    public func session(ofChannel channel: String) -> String? {
        guard channel.hasPrefix(channelPrefix), channel.utf8.count > channelPrefix.utf8.count else { return nil }
        return String(channel.dropFirst(channelPrefix.count))
    }
}
