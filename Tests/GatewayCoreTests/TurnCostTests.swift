import XCTest
@testable import GatewayCore

final class TurnCostTests: XCTestCase {
    private let large = Price(inputUSDPerMillion: 3, outputUSDPerMillion: 15)
    private let small = Price(inputUSDPerMillion: 0.15, outputUSDPerMillion: 0.6)

    private func usage(_ input: Int, _ output: Int) -> TokenUsage { TokenUsage(inputTokens: input, outputTokens: output, estimated: true) }

    func testPricesInputAndOutputApart() {
        let cost = TurnCost.compute(usage: usage(1_000, 500), price: large, cached: false)
        XCTAssertEqual(cost.inputUSD, 0.003)
        XCTAssertEqual(cost.outputUSD, 0.0075)
        XCTAssertEqual(cost.totalUSD, 0.0105)
        XCTAssertEqual(TurnCost.compute(usage: usage(1_000_000, 1_000_000), price: small, cached: false).totalUSD, 0.75)
    }

    func testACacheHitCostsNothing() {
        XCTAssertEqual(TurnCost.compute(usage: usage(5_000, 900), price: large, cached: true), .zero)
        XCTAssertEqual(TurnCost.zero.totalUSD, 0)
    }

    func testAmountsAreRoundedToNanoDollars() {
        // 7 tokens at $0.15 per 1M is 1.05e-6 USD exactly; one token at $0.0001 per 1M rounds to zero.
        XCTAssertEqual(TurnCost.compute(usage: usage(7, 0), price: small, cached: false).inputUSD, 0.00000105)
        XCTAssertEqual(TurnCost.compute(usage: usage(1, 0), price: Price(inputUSDPerMillion: 0.0001, outputUSDPerMillion: 0),
                                        cached: false).inputUSD, 0)
        XCTAssertEqual(TurnCost(inputUSD: 0.1234567894, outputUSD: 0.0000000006).inputUSD, 0.123456789)
        XCTAssertEqual(TurnCost(inputUSD: 0.1234567894, outputUSD: 0.0000000006).outputUSD, 0.000000001)
    }

    func testSumsDoNotDrift() {
        var total = TurnCost.zero
        let turn = TurnCost.compute(usage: usage(1, 1), price: Price(inputUSDPerMillion: 0.1, outputUSDPerMillion: 0.2), cached: false)
        for _ in 0..<1_000_000 { total += turn }
        // 0.1 has no exact binary form: a million plain Double additions would be off in the last digits.
        XCTAssertEqual(total.inputUSD, 0.1)
        XCTAssertEqual(total.outputUSD, 0.2)
        XCTAssertEqual(total.totalUSD, 0.3)
    }

    func testFreeModelsCostNothing() {
        XCTAssertEqual(TurnCost.compute(usage: usage(10_000, 10_000), price: .free, cached: false), .zero)
    }
}
