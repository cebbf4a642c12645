import XCTest
@testable import GatewayCore

final class DeploymentBookTests: XCTestCase {
    private let d = DeploymentRef(model: "m", deployment: "m")

    func testConcurrencyLimit() {
        var book = DeploymentBook(limits: [d: 2])
        XCTAssertTrue(book.acquire(d, now: 0))
        XCTAssertTrue(book.acquire(d, now: 0))
        XCTAssertEqual(book.availability(of: d, now: 0), .atCapacity)
        XCTAssertFalse(book.acquire(d, now: 0))
        book.release(d)
        XCTAssertEqual(book.availability(of: d, now: 0), .available)
        book.release(d)
        book.release(d)  // an extra release never goes below zero
        XCTAssertEqual(book.inFlightCount(d), 0)
    }

    func testCoolDownExtendsButNeverShortens() {
        var book = DeploymentBook()
        book.coolDown(d, untilMillis: 5_000)
        book.coolDown(d, untilMillis: 3_000)
        XCTAssertEqual(book.availability(of: d, now: 1_000), .coolingDown(untilMillis: 5_000))
        XCTAssertFalse(book.acquire(d, now: 4_999))
        XCTAssertEqual(book.availability(of: d, now: 5_000), .available)
        XCTAssertTrue(book.acquire(d, now: 5_000))
    }

    /// A freed slot goes to the turn that has waited longest for it, whoever asks first.
    func testAFreedSlotGoesToTheTurnThatWaitedLongest() {
        var book = DeploymentBook(limits: [d: 1])
        XCTAssertTrue(book.acquire(d, now: 0))
        for turn in ["t1", "t2", "t3"] {
            XCTAssertEqual(book.availability(of: d, for: turn, now: 0), .atCapacity)
            book.waitForCapacity(turn, on: [d])
        }
        book.release(d)
        XCTAssertEqual(book.availability(of: d, for: "t3", now: 1), .atCapacity, "t1 and t2 waited longer")
        XCTAssertEqual(book.availability(of: d, for: "t2", now: 1), .atCapacity)
        XCTAssertEqual(book.availability(of: d, for: "new", now: 1), .atCapacity, "a newcomer queues behind them")
        XCTAssertEqual(book.availability(of: d, for: "t1", now: 1), .available)
        XCTAssertTrue(book.acquire(d, now: 1))
        book.stopWaiting("t1")
        book.release(d)
        XCTAssertEqual(book.availability(of: d, for: "t3", now: 2), .atCapacity)
        XCTAssertEqual(book.availability(of: d, for: "t2", now: 2), .available)
    }

    /// A turn that waits again keeps its place; one that stops waiting for a deployment (it waits
    /// for something else now, or ended) no longer holds it up for the others.
    func testWaitingAgainKeepsThePlaceAndLeavingFreesIt() {
        let other = DeploymentRef(model: "m", deployment: "other")
        var book = DeploymentBook(limits: [d: 1, other: 1])
        XCTAssertTrue(book.acquire(d, now: 0))
        book.waitForCapacity("t1", on: [d])
        book.waitForCapacity("t2", on: [d])
        book.waitForCapacity("t1", on: [d])
        book.release(d)
        XCTAssertEqual(book.availability(of: d, for: "t2", now: 1), .atCapacity, "t1 kept its place")
        book.waitForCapacity("t1", on: [other])
        XCTAssertEqual(book.availability(of: d, for: "t2", now: 1), .available, "t1 no longer waits for d")
        book.stopWaiting("t2")
        book.waitForCapacity("t3", on: [d])
        book.stopWaiting("t3")
        XCTAssertEqual(book.availability(of: d, for: "t4", now: 1), .available, "nobody waits any more")
        XCTAssertEqual(book.availability(of: other, for: "t4", now: 1), .atCapacity, "t1 still waits for other")
    }
}
