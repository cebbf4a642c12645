/// At most one `typing` per connection and session per interval: clients send one on every key
/// stroke, and each fans out to the whole session (with its roster), so the rest are dropped here.
/// Dropping, not delaying, is right: the next stroke after the interval sends a fresh one.
public struct TypingThrottle: Sendable {
    public static let defaultIntervalMillis = 1_000

    private struct Key: Hashable {
        let session: String
        let connection: ConnectionID
    }

    public let intervalMillis: Int
    private var lastAllowed: [Key: Int] = [:]

    public init(intervalMillis: Int = TypingThrottle.defaultIntervalMillis) {
        self.intervalMillis = intervalMillis
    }

    /// True (and the interval starts again) when this connection's last allowed typing in the
    /// session is at least the interval before `now` (ms, any monotonic-enough clock).
    public mutating func allow(session: String, connection: ConnectionID, now: Int) -> Bool {
        let key = Key(session: session, connection: connection)
        if let last = lastAllowed[key], now - last < intervalMillis, now >= last { return false }
        lastAllowed[key] = now
        return true
    }

    /// After a leave: the next join starts afresh, and the entry does not linger.
    public mutating func forget(session: String, connection: ConnectionID) {
        lastAllowed[Key(session: session, connection: connection)] = nil
    }

    var count: Int { lastAllowed.count }
}
