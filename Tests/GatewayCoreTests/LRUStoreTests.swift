import XCTest
@testable import GatewayCore

final class LRUStoreTests: XCTestCase {
    func testUseMarksAnEntryNewestAndPeekDoesNot() {
        var store = LRUStore<String, Int>()
        store.set(1, cost: 10, for: "a")
        store.set(2, cost: 20, for: "b")
        store.set(3, cost: 30, for: "c")
        XCTAssertEqual(store.keysNewestFirst, ["c", "b", "a"])
        XCTAssertEqual(store.use("a"), 1)
        XCTAssertEqual(store.keysNewestFirst, ["a", "c", "b"])
        XCTAssertEqual(store.peek("b"), 2)
        XCTAssertEqual(store.oldestEntry?.key, "b")
        XCTAssertNil(store.use("missing"))
        XCTAssertEqual(store.totalCost, 60)
    }

    func testReplacingUpdatesCostAndOrder() {
        var store = LRUStore<String, Int>()
        store.set(1, cost: 10, for: "a")
        store.set(2, cost: 20, for: "b")
        store.set(9, cost: 5, for: "a")
        XCTAssertEqual(store.count, 2)
        XCTAssertEqual(store.totalCost, 25)
        XCTAssertEqual(store.keysNewestFirst, ["a", "b"])
        XCTAssertEqual(store.peek("a"), 9)
    }

    func testRemovingFromEveryPositionKeepsTheListIntact() {
        var store = LRUStore<Int, Int>()
        for key in 0..<5 { store.set(key, cost: 1, for: key) }
        XCTAssertEqual(store.remove(2), 2)   // middle
        XCTAssertEqual(store.remove(4), 4)   // newest
        XCTAssertEqual(store.remove(0), 0)   // oldest
        XCTAssertNil(store.remove(0))
        XCTAssertEqual(store.keysNewestFirst, [3, 1])
        XCTAssertEqual(store.oldestEntry?.key, 1)
        XCTAssertEqual(store.totalCost, 2)
        store.set(7, cost: 1, for: 7)         // reuses a freed slot
        XCTAssertEqual(store.keysNewestFirst, [7, 3, 1])
        store.remove(7); store.remove(3); store.remove(1)
        XCTAssertEqual(store.count, 0)
        XCTAssertNil(store.oldestEntry)
        XCTAssertEqual(store.keysNewestFirst, [])
    }

    func testMatchesAReferenceModelUnderRandomOperations() {
        var store = LRUStore<Int, Int>()
        var reference: [(key: Int, value: Int)] = []  // newest first
        var generator = SystemRandomNumberGenerator()
        for step in 0..<5000 {
            let key = Int.random(in: 0..<20, using: &generator)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0:
                store.set(step, cost: 1, for: key)
                reference.removeAll { $0.key == key }
                reference.insert((key, step), at: 0)
            case 1:
                let expected = reference.firstIndex { $0.key == key }.map { reference.remove(at: $0) }
                if let expected { reference.insert(expected, at: 0) }
                XCTAssertEqual(store.use(key), expected?.value)
            default:
                let expected = reference.firstIndex { $0.key == key }.map { reference.remove(at: $0).value }
                XCTAssertEqual(store.remove(key), expected)
            }
            XCTAssertEqual(store.keysNewestFirst, reference.map(\.key))
            XCTAssertEqual(store.totalCost, reference.count)
        }
    }
}
