/// Where sessions live: in this process (`MemorySessionStore`, the embedded default) or shared
/// between nodes (`RedisSessionStore` in GatewayCluster). Every method is safe from any thread and
/// returns quickly: what needs the shared store answers through a completion, which the memory
/// store calls inline and a Redis store calls on its own thread.
///
/// The store owns delivery: when events land where this node's subscribers read them (at once in
/// memory; when pub/sub brings them back from Redis), it hands the `delivery` sink a `Fanout`: whom
/// to wake because their cursor has something new, and whom to drop because what they have not
/// taken passed the outbound cap (close 4008, "slow consumer"). Appends are fire-and-forget for the
/// same reason: their effect reaches subscribers through the sink, whichever node appended.
public protocol SessionStore: AnyObject, Sendable {
    /// Set once, before the first call.
    func setDelivery(_ delivery: @escaping @Sendable (Fanout) -> Void)

    /// Subscribes `connection`; the completion runs once the cursor is placed, so frames asked for
    /// after it follow the join rules (docs/protocol.md).
    func join(session: String, connection: ConnectionID, afterSeq: Int?,
              completion: @escaping @Sendable (Result<SessionState.JoinOutcome, SessionStoreError>) -> Void)
    /// Local only. Returns the number of this node's subscribers left, or nil if `connection` was not subscribed.
    func leave(session: String, connection: ConnectionID) -> Int?
    /// Local only. Next frame for a subscriber (advancing its cursor); nil when it is up to date or not subscribed.
    func nextFrame(session: String, connection: ConnectionID) -> [UInt8]?
    /// Local only. As `nextFrame`, and whether the subscriber is up to date after this frame: the
    /// caller need not ask again before the next append wakes it. False when the store cannot say.
    func nextFrameAndCaughtUp(session: String, connection: ConnectionID) -> (frame: [UInt8], caughtUp: Bool)?

    /// Appends the message and its turn's start unless the id is known (duplicate) or a turn is
    /// active (busy). `admit` is asked, with the history, once the message would be appended: it
    /// says how the turn starts, or refuses it with nil (then nothing is appended). A shared store
    /// may ask it and then find, when appending, that another node was faster (busy or duplicate):
    /// `admit` must therefore not commit anything the outcome does not confirm, unless the store
    /// is the memory one (which asks under the session's lock and always honours the answer).
    func acceptMessage(session: String, id: String, author: String, text: String, turn: String, historyLimit: Int,
                       admit: @escaping @Sendable ([ChatMessage]) -> TurnAdmission?,
                       completion: @escaping @Sendable (Result<SessionState.MessageOutcome, SessionStoreError>) -> Void)
    /// Appends model text to the turn if it is still the active one; dropped otherwise.
    func appendDelta(session: String, turn: String, text: String)
    /// Appends the turn's one `turn.end` if it is still the active one; dropped otherwise.
    /// `replyText` is everything relayed in the turn (a shared store keeps it as the transcript's
    /// reply, since the node that ends a turn may not mirror its session).
    func endTurn(session: String, turn: String, finish: TurnFinish, usage: TokenUsage, upstreamFinish: String?,
                 error: TurnError?, replyText: String)
    /// The session's active turn, as far as the store knows.
    func activeTurn(session: String, completion: @escaping @Sendable (SessionState.ActiveTurn?) -> Void)

    /// Drops sessions idle past the TTL from this node; returns how many were dropped.
    func expireIdleSessions() -> Int
    /// Sessions this node holds (memory: all; shared: those it mirrors).
    var sessionCount: Int { get }
}

extension SessionStore {
    /// A store that cannot tell says "maybe more": the caller asks again, as it always did.
    public func nextFrameAndCaughtUp(session: String, connection: ConnectionID) -> (frame: [UInt8], caughtUp: Bool)? {
        nextFrame(session: session, connection: connection).map { ($0, false) }
    }
}

/// Why a store could not carry out a request; nothing was appended.
public enum SessionStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The shared store cannot be reached (or did not answer in time).
    case unavailable(String)

    public var description: String {
        switch self {
        case .unavailable(let detail): return "the session store is unavailable: \(detail)"
        }
    }
}

public struct Fanout: Sendable, Equatable {
    public var wake: [ConnectionID] = []
    public var slowConsumers: [ConnectionID] = []
    public init(wake: [ConnectionID] = [], slowConsumers: [ConnectionID] = []) {
        self.wake = wake
        self.slowConsumers = slowConsumers
    }
    public static let none = Fanout()
    public var isEmpty: Bool { wake.isEmpty && slowConsumers.isEmpty }
}
