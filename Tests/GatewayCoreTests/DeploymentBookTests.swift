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
}
