/// Application close codes (docs/protocol.md, "Close codes").
enum CloseCode {
    /// No `hello` in time, or a first frame that was not `hello`.
    static let helloRequired: UInt16 = 4001
    /// What the client had not taken passed the outbound cap; it may reconnect and resume.
    static let slowConsumer: UInt16 = 4008
    /// More frames waiting to be handled than `ConnectionTable.maxQueuedRequests` (the client
    /// sends without waiting for answers while the shared store is slow).
    static let tooManyRequests: UInt16 = 4009
    /// A `chat-gateway worker` node: it runs turns, it does not take clients.
    static let workerOnly: UInt16 = 4010
    /// Refused by the per-address connection limit (after an `error` frame saying when to retry).
    static let rateLimited: UInt16 = 4029
}
