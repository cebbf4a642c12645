/// Where presence lives: in this process (`MemoryPresence`, the embedded default) or shared by
/// every node through Redis (`RedisPresence` in GatewayCluster). The node calls it from its
/// protocol handler; the backend answers through the sink given to `start`, with the frames for
/// this node's own connections.
///
/// What a backend guarantees:
/// - after `join`, the joining connection gets exactly one `join` for its own user with the roster
///   (the one everybody gets when that user is new, else one for it alone), before any other
///   presence event of that session;
/// - the others present see a `join` only for a user's first tab and a `leave` only for the last
///   (across tabs and nodes), and a `typing` of anyone present;
/// - for one session, deliveries come in the order of the changes.
///
/// Every method is safe from any thread and returns at once; none may be called from the sink.
public protocol PresenceBackend: AnyObject, Sendable {
    /// Starts delivering; call once, before anything else. The sink runs with the backend's lock
    /// held (that is what keeps one session's deliveries in order): it must be quick, must not
    /// block and must not call the backend.
    func start(delivering sink: @escaping PresenceSink)
    func join(session: String, connection: ConnectionID, user: String, role: String)
    /// A no-op for a connection not present in the session.
    func leave(session: String, connection: ConnectionID)
    /// A no-op for a connection not present in the session (the caller throttles).
    func typing(session: String, connection: ConnectionID)
    /// Removes this node's connections from every session (others see them leave) and stops.
    func stop()
}

public typealias PresenceSink = @Sendable (PresenceDelivery) -> Void

/// One presence event and the connections of this node it goes to.
public struct PresenceDelivery: Sendable, Hashable {
    public let update: PresenceUpdate
    public let recipients: [ConnectionID]

    public init(update: PresenceUpdate, recipients: [ConnectionID]) {
        self.update = update
        self.recipients = recipients
    }
}
