import Foundation

/// Milliseconds since the Unix epoch: the `ts` of events, comparable across processes on one machine.
public enum WallClock {
    @Sendable public static func millis() -> Int {
        Int((Date().timeIntervalSince1970 * 1000).rounded())
    }
}
