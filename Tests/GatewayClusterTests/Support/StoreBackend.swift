import GatewayCore

/// What the behaviour suite needs from a backend besides the `SessionStore` itself.
protocol StoreBackend: AnyObject {
    func makeDriver(maxEvents: Int, outboundCapBytes: Int) throws -> StoreDriver
    /// How many fan-outs an append of `events` events (a message and its turn's start are two) hands
    /// the sink: one per event as it lands in a shared store's mirror, one per call in memory.
    func fanouts(forEvents events: Int) -> Int
    /// Waits until the session's log holds `seq` (appends to a shared store are fire-and-forget).
    func waitUntilLogged(_ driver: StoreDriver, session: String, seq: Int) throws
}

extension StoreBackend {
    func makeDriver(maxEvents: Int = 100, outboundCapBytes: Int = 1 << 20) throws -> StoreDriver {
        try makeDriver(maxEvents: maxEvents, outboundCapBytes: outboundCapBytes)
    }
}
