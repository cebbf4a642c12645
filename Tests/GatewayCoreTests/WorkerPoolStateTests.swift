import XCTest
@testable import GatewayCore

/// `WorkerPoolState`: at most `concurrency` jobs run and at most `queueLimit` wait, first in first
/// out; a job that fits neither is handed back refused; a finished job makes room for the next.
final class WorkerPoolStateTests: XCTestCase {
    private enum Outcome: Equatable {
        case startNow(String), queued, rejected(String)
    }

    private func submit(_ pool: inout WorkerPoolState<String>, _ job: String) -> Outcome {
        switch pool.submit(job) {
        case .startNow(let started): return .startNow(started)
        case .queued: return .queued
        case .rejected(let refused): return .rejected(refused)
        }
    }

    func testJobsStartUntilConcurrencyThenQueueThenAreRefused() {
        var pool = WorkerPoolState<String>(concurrency: 2, queueLimit: 2)
        XCTAssertEqual(submit(&pool, "a"), .startNow("a"))
        XCTAssertEqual(submit(&pool, "b"), .startNow("b"))
        XCTAssertEqual(pool.running, 2)
        XCTAssertTrue(pool.hasRoom)
        XCTAssertEqual(submit(&pool, "c"), .queued)
        XCTAssertEqual(submit(&pool, "d"), .queued)
        XCTAssertEqual(pool.queuedCount, 2)
        XCTAssertFalse(pool.hasRoom)
        XCTAssertEqual(submit(&pool, "e"), .rejected("e"))
        XCTAssertEqual(pool.running, 2)
        XCTAssertEqual(pool.queuedCount, 2, "a refused job is not kept")
    }

    func testWithoutAQueueJobsBeyondConcurrencyAreRefused() {
        var pool = WorkerPoolState<String>(concurrency: 1, queueLimit: 0)
        XCTAssertEqual(submit(&pool, "a"), .startNow("a"))
        XCTAssertFalse(pool.hasRoom)
        XCTAssertEqual(submit(&pool, "b"), .rejected("b"))
        XCTAssertNil(pool.finished())
        XCTAssertEqual(pool.running, 0)
        XCTAssertEqual(submit(&pool, "c"), .startNow("c"))
    }

    func testAPoolWithoutWorkersRunsNothing() {
        var pool = WorkerPoolState<String>(concurrency: 0, queueLimit: 0)
        XCTAssertFalse(pool.hasRoom)
        XCTAssertEqual(submit(&pool, "a"), .rejected("a"))
        XCTAssertEqual(pool.running, 0)
    }

    func testFinishedHandsOutQueuedJobsInOrderAndKeepsThemRunning() {
        var pool = WorkerPoolState<String>(concurrency: 1, queueLimit: 10)
        XCTAssertEqual(submit(&pool, "a"), .startNow("a"))
        for job in ["b", "c", "d"] { XCTAssertEqual(submit(&pool, job), .queued) }
        XCTAssertEqual(pool.finished(), "b")
        XCTAssertEqual(pool.running, 1, "the next job takes the freed worker")
        XCTAssertEqual(pool.queuedCount, 2)
        XCTAssertEqual(pool.finished(), "c")
        XCTAssertEqual(pool.finished(), "d")
        XCTAssertEqual(pool.running, 1)
        XCTAssertNil(pool.finished())
        XCTAssertEqual(pool.running, 0)
        XCTAssertEqual(pool.queuedCount, 0)
    }

    func testAFreedWorkerIsTakenByANewJobWhenNothingWaits() {
        var pool = WorkerPoolState<String>(concurrency: 2, queueLimit: 1)
        _ = submit(&pool, "a")
        _ = submit(&pool, "b")
        XCTAssertNil(pool.finished())
        XCTAssertEqual(pool.running, 1)
        XCTAssertEqual(submit(&pool, "c"), .startNow("c"))
        XCTAssertEqual(submit(&pool, "d"), .queued)
    }

    func testRemoveQueuedTakesOutTheFirstMatchAndKeepsTheOrder() {
        var pool = WorkerPoolState<String>(concurrency: 1, queueLimit: 10)
        _ = submit(&pool, "running")
        for job in ["q1", "stop-me", "q2", "stop-me"] { _ = submit(&pool, job) }
        XCTAssertEqual(pool.removeQueued { $0 == "stop-me" }, "stop-me")
        XCTAssertEqual(pool.queuedCount, 3)
        XCTAssertNil(pool.removeQueued { $0 == "running" }, "running jobs are not in the queue")
        XCTAssertNil(pool.removeQueued { $0 == "absent" })
        XCTAssertEqual(pool.running, 1)
        var order: [String] = []
        while let next = pool.finished() { order.append(next) }
        XCTAssertEqual(order, ["q1", "q2", "stop-me"])
    }

    func testRemovingAQueuedJobMakesRoomInTheQueue() {
        var pool = WorkerPoolState<String>(concurrency: 1, queueLimit: 1)
        _ = submit(&pool, "a")
        _ = submit(&pool, "b")
        XCTAssertEqual(submit(&pool, "c"), .rejected("c"))
        XCTAssertEqual(pool.removeQueued { $0 == "b" }, "b")
        XCTAssertTrue(pool.hasRoom)
        XCTAssertEqual(submit(&pool, "c"), .queued)
    }

    func testRemoveQueuedSkipsJobsAlreadyHandedOut() {
        var pool = WorkerPoolState<String>(concurrency: 1, queueLimit: 10)
        _ = submit(&pool, "a")
        _ = submit(&pool, "b")
        _ = submit(&pool, "c")
        XCTAssertEqual(pool.finished(), "b")
        XCTAssertNil(pool.removeQueued { $0 == "b" }, "b is running now")
        XCTAssertEqual(pool.removeQueued { $0 != "a" }, "c")
        XCTAssertEqual(pool.queuedCount, 0)
    }

    /// Long enough for the queue's storage to be compacted many times: order, counts and removal
    /// stay right across compactions.
    func testOrderSurvivesALongRun() {
        var pool = WorkerPoolState<Int>(concurrency: 3, queueLimit: 50)
        var started: [Int] = []
        var removed: [Int] = []
        var next = 0
        for round in 0..<400 {
            while pool.hasRoom {
                if case .startNow(let job) = pool.submit(next) { started.append(job) }
                next += 1
            }
            if round % 7 == 0, let job = pool.removeQueued(where: { $0 % 5 == 0 }) { removed.append(job) }
            if let job = pool.finished() { started.append(job) }
            XCTAssertLessThanOrEqual(pool.running, 3)
            XCTAssertLessThanOrEqual(pool.queuedCount, 50)
        }
        while pool.running > 0 { if let job = pool.finished() { started.append(job) } }
        XCTAssertEqual(started.count + removed.count, next, "every job started once or was removed")
        XCTAssertEqual(started, started.sorted(), "first in, first out")
        XCTAssertEqual(Set(started).intersection(removed), [])
        XCTAssertTrue(removed.allSatisfy { $0 % 5 == 0 })
        XCTAssertGreaterThan(removed.count, 40)
    }
}
