/// What a turn cost in US dollars at its deployment's list price.
///
/// Double arithmetic, each amount rounded to the nearest 1e-9 USD (a nano-dollar, well below any
/// per-token price: $0.01 per 1M tokens is 1e-8 USD a token). Amounts are exact to that precision
/// up to about $9 million, where 1e9 × amount leaves a Double's 53-bit integer range; sums
/// (`+`) round again so totals over many turns do not drift.
public struct TurnCost: Sendable, Equatable {
    public var inputUSD: Double
    public var outputUSD: Double
    public var totalUSD: Double

    public init(inputUSD: Double, outputUSD: Double) {
        self.inputUSD = Self.roundedToNanoDollars(inputUSD)
        self.outputUSD = Self.roundedToNanoDollars(outputUSD)
        totalUSD = Self.roundedToNanoDollars(self.inputUSD + self.outputUSD)
    }

    public static let zero = TurnCost(inputUSD: 0, outputUSD: 0)

    /// A reply served from the response cache (`cached`) called no model and costs nothing;
    /// `usage` is still the original request's, so logs can show what the hit saved.
    public static func compute(usage: TokenUsage, price: Price, cached: Bool) -> TurnCost {
        guard !cached else { return .zero }
        return TurnCost(inputUSD: Double(usage.inputTokens) * price.inputUSDPerMillion / 1_000_000,
                        outputUSD: Double(usage.outputTokens) * price.outputUSDPerMillion / 1_000_000)
    }

    public static func + (lhs: TurnCost, rhs: TurnCost) -> TurnCost {
        TurnCost(inputUSD: lhs.inputUSD + rhs.inputUSD, outputUSD: lhs.outputUSD + rhs.outputUSD)
    }

    public static func += (lhs: inout TurnCost, rhs: TurnCost) { lhs = lhs + rhs }

    static func roundedToNanoDollars(_ amount: Double) -> Double { (amount * 1e9).rounded() / 1e9 }
}
