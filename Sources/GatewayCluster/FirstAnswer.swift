import Synchronization

/// Hands a completion the first of several racing answers (Redis's reply, or the decision
/// deadline passing) and drops the rest, so it is called exactly once.
final class FirstAnswer<Value: Sendable>: Sendable {
    private let answered = Atomic<Bool>(false)
    private let completion: @Sendable (Value) -> Void

    init(_ completion: @escaping @Sendable (Value) -> Void) {
        self.completion = completion
    }

    func deliver(_ value: Value) {
        guard !answered.exchange(true, ordering: .acquiringAndReleasing) else { return }
        completion(value)
    }
}
