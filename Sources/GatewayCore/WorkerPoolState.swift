/// Admission and scheduling for the chat workers: at most `concurrency` turns run at once and at
/// most `queueLimit` wait. A turn that fits neither is refused (`overloaded`), never left waiting
/// silently. A value type that returns what to start; the pool carries it out.
public struct WorkerPoolState<Job: Sendable>: Sendable {
    public enum Admission: Sendable {
        case startNow(Job)
        case queued
        case rejected(Job)
    }

    public let concurrency: Int
    public let queueLimit: Int
    public private(set) var running = 0
    private var queue: [Job] = []
    private var queueHead = 0

    /// `concurrency` 0 is a node that runs no turns (multi-node mode: other nodes do).
    public init(concurrency: Int, queueLimit: Int) {
        precondition(concurrency >= 0 && queueLimit >= 0)
        self.concurrency = concurrency
        self.queueLimit = queueLimit
    }

    public var queuedCount: Int { queue.count - queueHead }
    public var hasRoom: Bool { running < concurrency || queuedCount < queueLimit }

    public mutating func submit(_ job: Job) -> Admission {
        if running < concurrency {
            running += 1
            return .startNow(job)
        }
        guard queuedCount < queueLimit else { return .rejected(job) }
        queue.append(job)
        return .queued
    }

    /// A running job finished; returns the next queued one, which now counts as running.
    public mutating func finished() -> Job? {
        precondition(running > 0, "finished() without a running job")
        if let next = popQueued() { return next }
        running -= 1
        return nil
    }

    /// Takes a job out of the queue before it starts (e.g. its turn was stopped while waiting).
    public mutating func removeQueued(where matches: (Job) -> Bool) -> Job? {
        guard let index = queue[queueHead...].firstIndex(where: matches) else { return nil }
        return queue.remove(at: index)
    }

    private mutating func popQueued() -> Job? {
        guard queueHead < queue.count else { return nil }
        let job = queue[queueHead]
        queueHead += 1
        if queueHead >= 64 && queueHead * 2 >= queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        return job
    }
}
