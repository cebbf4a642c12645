import Synchronization

/// A clock the test moves by hand, so idle expiry and event timestamps never depend on real time.
final class ManualClock: Sendable {
    private let current: Mutex<Int>

    init(startingAt millis: Int = 1_700_000_000_000) { current = Mutex(millis) }

    var now: Int { current.withLock { $0 } }

    func advance(by millis: Int) { current.withLock { $0 += millis } }

    /// What `MemorySessionStore` is given in place of `WallClock.millis`.
    var reading: @Sendable () -> Int { { [self] in now } }
}
