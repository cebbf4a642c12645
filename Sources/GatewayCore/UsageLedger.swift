/// Spend per tenant per UTC day, from usage records, for budgets (`budgets` in config). A value
/// type; the app guards one instance with a lock. Only today and yesterday are kept, so it stays
/// small however long the node runs.
public struct UsageLedger: Sendable {
    public struct Budgets: Sendable, Equatable {
        /// USD per UTC day for tenants without their own entry; nil for no limit.
        public var defaultCostPerDay: Double?
        public var costPerDay: [String: Double] = [:]
        public init(defaultCostPerDay: Double? = nil, costPerDay: [String: Double] = [:]) {
            self.defaultCostPerDay = defaultCostPerDay
            self.costPerDay = costPerDay
        }

        public func limit(for tenant: String) -> Double? { costPerDay[tenant] ?? defaultCostPerDay }
    }

    public static let millisPerDay = 86_400_000

    public let budgets: Budgets
    private var spent: [Int: [String: Double]] = [:]

    public init(budgets: Budgets) { self.budgets = budgets }

    public static func day(of millis: Int) -> Int { millis >= 0 ? millis / millisPerDay : (millis + 1) / millisPerDay - 1 }

    public mutating func add(_ record: UsageRecord) {
        let day = Self.day(of: record.endedAt)
        spent[day, default: [:]][record.tenant, default: 0] += record.costUSD ?? 0
        for old in spent.keys where old < day - 1 { spent[old] = nil }
    }

    public func spentToday(by tenant: String, now: Int) -> Double { spent[Self.day(of: now)]?[tenant] ?? 0 }

    /// Nil while the tenant may start turns; else how long until its budget resets (UTC midnight).
    /// A turn already running may take the spend past the limit: budgets refuse new turns, they do
    /// not cut replies off.
    public func refusal(for tenant: String, now: Int) -> Int? {
        guard let limit = budgets.limit(for: tenant), spentToday(by: tenant, now: now) >= limit else { return nil }
        return (Self.day(of: now) + 1) * Self.millisPerDay - now
    }
}
