/// The shared work queue of a multi-node deployment: turns admitted on any node wait there until
/// a worker on some node claims one. Without Redis there is none; the coordinator's own
/// `WorkerPoolState` queues turns on the node (the in-memory twin).
///
/// A claimed turn is the claimer's while it renews its lease; when a lease runs out (the worker
/// died or lost Redis for longer), the queue re-queues the turn once if nothing streamed yet, and
/// otherwise reports it lost so that a node ends it with `worker_lost`.
public protocol TurnQueue: AnyObject, Sendable {
    /// Starts claiming (while `freeSlots()` says there is room), renewing and reaping.
    func start(_ handlers: TurnQueueHandlers)
    /// A worker slot was freed: claim again if claiming had paused for lack of slots.
    func capacityChanged()
    /// The turn ended on this node: stop renewing its lease.
    func released(turn: String)
    /// Finds the session's active turn wherever it is and asks its owner to stop it.
    func stop(session: String, completion: @escaping @Sendable (TurnStopOutcome) -> Void)
    /// Stops claiming, renewing and reaping; turns already claimed stay this node's to end.
    func shutdown()
}

public struct TurnQueueHandlers: Sendable {
    /// Free worker slots on this node now (claims never take more).
    public var freeSlots: @Sendable () -> Int
    /// A turn this node now owns: run it. `retry` says the first worker was lost before streaming.
    public var claimed: @Sendable (_ job: [UInt8], _ retry: Bool) -> Void
    /// Cancel this turn if it runs here (a stop from another node, or the turn is gone from Redis).
    public var stopRequested: @Sendable (_ turn: String) -> Void
    /// The reaper took this turn's lease while this node could not renew it, and re-queued the turn
    /// or reported it lost: stop running it here without ending it (its retry, or whoever ends it
    /// with `worker_lost`, does).
    public var leaseLost: @Sendable (_ turn: String) -> Void
    /// A turn whose worker was lost after it streamed: end it with `worker_lost` (any node may).
    public var lost: @Sendable (_ session: String, _ turn: String) -> Void

    public init(freeSlots: @escaping @Sendable () -> Int, claimed: @escaping @Sendable ([UInt8], Bool) -> Void,
                stopRequested: @escaping @Sendable (String) -> Void, leaseLost: @escaping @Sendable (String) -> Void,
                lost: @escaping @Sendable (String, String) -> Void) {
        self.freeSlots = freeSlots
        self.claimed = claimed
        self.stopRequested = stopRequested
        self.leaseLost = leaseLost
        self.lost = lost
    }
}

public enum TurnStopOutcome: Sendable, Equatable {
    /// The session has no active turn.
    case noActiveTurn
    /// The owning node was told (it may be this one).
    case relayed(turn: String, owner: String)
    /// The turn is not claimed yet and will not be: the caller ends it as `cancelled`.
    case unclaimed(turn: String)
    case failed(String)
}
