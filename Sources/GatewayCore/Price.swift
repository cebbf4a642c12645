/// A deployment's list price in US dollars per million tokens, input and output priced apart as
/// every LLM API bills them.
public struct Price: Sendable, Equatable {
    public var inputUSDPerMillion: Double
    public var outputUSDPerMillion: Double

    public init(inputUSDPerMillion: Double, outputUSDPerMillion: Double) {
        self.inputUSDPerMillion = inputUSDPerMillion
        self.outputUSDPerMillion = outputUSDPerMillion
    }

    /// Self-hosted or built-in models (the demo) cost nothing per token.
    public static let free = Price(inputUSDPerMillion: 0, outputUSDPerMillion: 0)
}
