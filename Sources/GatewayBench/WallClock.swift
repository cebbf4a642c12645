@preconcurrency import Glibc

/// The clock the gateway stamps events with (`ts`, ms since the Unix epoch), read the same way
/// in the client so `now - ts` is a latency on one machine.
enum WallClock {
    static func microseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now.tv_sec * 1_000_000 + now.tv_nsec / 1000
    }

    static func milliseconds() -> Int { microseconds() / 1000 }
}
