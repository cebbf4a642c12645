/// Requests from other threads to the client's service thread, inside `ClientServiceLoop.inbox`
/// (a Mutex). The first request since the last drain calls `lws_cancel_service`, so a burst of
/// requests costs one wake-up.
struct ClientInbox {
    /// The running context as an address (OpaquePointer is not Sendable), nil before it exists and
    /// once destruction begins: requests made then are dropped.
    var contextAddress: UInt?
    var sends: [(connection: Int, frame: [UInt8])] = []
    var stopRequested = false
    var cancelPending = false
}
