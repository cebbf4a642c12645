import Synchronization

/// Tells a request's handler loop whether the request finished before the handler returned (the
/// memory store answers inline: carry on with the next frame in the loop) or after (a shared store
/// answered on its thread: its completion carries on instead). Exactly one of the two sides wins
/// the race for each request, so the next frame is handled exactly once.
final class RequestGate: Sendable {
    private static let running: UInt8 = 0, completedInline: UInt8 = 1, returnedFirst: UInt8 = 2
    private let state = Atomic<UInt8>(running)

    /// Called by the completion; true if the loop had already returned (so the completion continues it).
    func completeAfterReturn() -> Bool {
        !state.compareExchange(expected: Self.running, desired: Self.completedInline, ordering: .acquiringAndReleasing).exchanged
    }

    /// Called by the loop after the handler returned; true if the request is still pending.
    func returnWhilePending() -> Bool {
        state.compareExchange(expected: Self.running, desired: Self.returnedFirst, ordering: .acquiringAndReleasing).exchanged
    }
}
