import Synchronization

/// How far a pool has got, readable from any thread while it runs.
public struct ClientCounters: Sendable, Equatable {
    /// Connection attempts started.
    public var started: Int
    /// Connections open now (upgrade done, not yet closed).
    public var open: Int
    /// Connections that completed the upgrade at some point.
    public var opened: Int
    /// Attempts that never came up (TCP connect or upgrade failed).
    public var failed: Int
    /// Connections reported to `clientClosed` (failed ones included).
    public var finished: Int
}

/// The atomics behind `ClientCounters`, written by the service thread, read by anyone.
final class ClientCounterSet: Sendable {
    let started = Atomic<Int>(0)
    let open = Atomic<Int>(0)
    let opened = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let finished = Atomic<Int>(0)
    /// The service thread wants periodic wake-ups (connects still to start, or stopping).
    let needsTick = Atomic<Bool>(true)

    var snapshot: ClientCounters {
        ClientCounters(started: started.load(ordering: .relaxed), open: open.load(ordering: .relaxed),
                       opened: opened.load(ordering: .relaxed), failed: failed.load(ordering: .relaxed),
                       finished: finished.load(ordering: .relaxed))
    }
}
