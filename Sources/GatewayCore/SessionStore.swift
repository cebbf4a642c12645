/// Where sessions live: in this process (`MemorySessionStore`, the embedded default) or shared
/// between nodes (Redis, later). Every method is safe from any thread and returns quickly.
///
/// Mutations return `Fanout`: whom to wake because their cursor has something new, and whom to
/// drop because what they have not taken passed the outbound cap (close 4008, "slow consumer").
public protocol SessionStore: Sendable {
    func join(session: String, connection: ConnectionID, afterSeq: Int?) -> SessionState.JoinOutcome
    /// Returns the number of subscribers left, or nil if `connection` was not subscribed.
    func leave(session: String, connection: ConnectionID) -> Int?
    /// Next frame for a subscriber (advancing its cursor); nil when it is up to date or not subscribed.
    func nextFrame(session: String, connection: ConnectionID) -> [UInt8]?
    func acceptMessage(session: String, id: String, author: String, text: String, turn: String,
                       historyLimit: Int, admit: ([ChatMessage]) -> TurnAdmission?) -> (SessionState.MessageOutcome, Fanout)
    func appendDelta(session: String, turn: String, text: String) -> Fanout
    /// `ended` is false when the turn had already ended (its one `turn.end` exists).
    func endTurn(session: String, turn: String, finish: TurnFinish, usage: TokenUsage, upstreamFinish: String?,
                 error: TurnError?) -> (ended: Bool, fanout: Fanout)
    func activeTurn(session: String) -> SessionState.ActiveTurn?
    func relayedText(session: String, turn: String) -> String
    /// Drops sessions idle past the TTL; returns how many were dropped.
    func expireIdleSessions() -> Int
    var sessionCount: Int { get }
}

public struct Fanout: Sendable, Equatable {
    public var wake: [ConnectionID] = []
    public var slowConsumers: [ConnectionID] = []
    public init(wake: [ConnectionID] = [], slowConsumers: [ConnectionID] = []) {
        self.wake = wake
        self.slowConsumers = slowConsumers
    }
    public static let none = Fanout()
}
