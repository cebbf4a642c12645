/// Prices by deployment (the keys of `llm.models`), read from config as
/// `{"large": {"input_usd_per_million": 3, "output_usd_per_million": 15}}`.
public struct PriceTable: Sendable, Equatable {
    public var prices: [String: Price]

    public init(_ prices: [String: Price] = [:]) {
        self.prices = prices
    }

    public subscript(deployment: String) -> Price? { prices[deployment] }

    /// Unknown keys, wrong types and negative prices are refused naming the key; both prices are required.
    public static func parse(_ value: JSONValue?, path: String) throws(ConfigError) -> PriceTable {
        try parse(ConfigSection(value, path: path))
    }

    static func parse(_ section: ConfigSection) throws(ConfigError) -> PriceTable {
        var table = PriceTable()
        for deployment in section.keys {
            table.prices[deployment] = try Price.parse(ConfigSection(section.raw(deployment), path: section.key(deployment)))
        }
        return table
    }
}
