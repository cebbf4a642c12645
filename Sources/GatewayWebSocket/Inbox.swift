import GatewayCore

/// Requests from other threads to the service thread. Lives inside `ServiceLoop.inbox` (a Mutex);
/// whoever adds the first request since the last drain calls `lws_cancel_service`, so a burst of
/// wakes costs one pipe write and one `EVENT_WAIT_CANCELLED`.
struct Inbox {
    /// The running context, or nil before it exists and from the moment shutdown begins: requests
    /// made then are dropped, and nobody calls `lws_cancel_service` on a context being destroyed.
    /// Kept as an address because OpaquePointer is not Sendable and so cannot enter the Mutex.
    var contextAddress: UInt?
    var wakes: [ConnectionID] = []
    var closes: [(id: ConnectionID, code: UInt16, reason: String)] = []
    var stopRequested = false
    /// A cancel was sent and the service thread has not drained yet.
    var cancelPending = false
}
