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

    /// `{"input_usd_per_million": 3, "output_usd_per_million": 15}`: both required, unknown keys and
    /// negative prices refused naming the key. The same shape in the gateway config and the bench.
    static func parse(_ entry: ConfigSection) throws(ConfigError) -> Price {
        try entry.rejectUnknownKeys(allowed: ["input_usd_per_million", "output_usd_per_million"])
        let range = 0.0...1_000_000.0
        guard let input = try entry.optionalDouble("input_usd_per_million", range: range) else {
            throw ConfigError(key: entry.key("input_usd_per_million"), problem: "missing (USD per 1M input tokens)")
        }
        guard let output = try entry.optionalDouble("output_usd_per_million", range: range) else {
            throw ConfigError(key: entry.key("output_usd_per_million"), problem: "missing (USD per 1M output tokens)")
        }
        return Price(inputUSDPerMillion: input, outputUSDPerMillion: output)
    }
}
