import XCTest
@testable import GatewayCore

final class PriceTableTests: XCTestCase {
    private func parse(_ json: String) throws -> PriceTable {
        try PriceTable.parse(JSONValue.parse(json), path: "prices")
    }

    private func assertRefused(_ json: String, key: String, mentioning words: String, line: UInt = #line) {
        XCTAssertThrowsError(try parse(json), line: line) { error in
            let configError = error as? ConfigError
            XCTAssertEqual(configError?.key, key, line: line)
            XCTAssertTrue(configError?.problem.contains(words) == true, "\(configError?.problem ?? "\(error)")", line: line)
        }
    }

    func testReadsPricesByDeployment() throws {
        let table = try parse("""
        {"$comment": "list prices", "large": {"input_usd_per_million": 3, "output_usd_per_million": 15},
         "small": {"input_usd_per_million": 0.15, "output_usd_per_million": 0.6}}
        """)
        XCTAssertEqual(table["large"], Price(inputUSDPerMillion: 3, outputUSDPerMillion: 15))
        XCTAssertEqual(table["small"], Price(inputUSDPerMillion: 0.15, outputUSDPerMillion: 0.6))
        XCTAssertNil(table["demo"])
        XCTAssertEqual(table.prices.count, 2)
        XCTAssertEqual(try PriceTable.parse(nil, path: "prices"), PriceTable())
    }

    func testRefusesWhatIsNotAPrice() {
        assertRefused(#"{"large": {"input_usd_per_million": 3}}"#, key: "prices.large.output_usd_per_million", mentioning: "missing")
        assertRefused(#"{"large": {"output_usd_per_million": 3}}"#, key: "prices.large.input_usd_per_million", mentioning: "missing")
        assertRefused(#"{"large": {"input_usd_per_million": "3", "output_usd_per_million": 1}}"#,
                      key: "prices.large.input_usd_per_million", mentioning: "must be a number")
        assertRefused(#"{"large": {"input_usd_per_million": -1, "output_usd_per_million": 1}}"#,
                      key: "prices.large.input_usd_per_million", mentioning: "between 0")
        assertRefused(#"{"large": {"input_usd_per_million": 1, "output_usd_per_million": 1, "cached_input": 0.3}}"#,
                      key: "prices.large.cached_input", mentioning: "unknown key")
        assertRefused(#"{"large": 3}"#, key: "prices.large", mentioning: "must be an object")
    }
}
