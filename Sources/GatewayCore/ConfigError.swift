/// A configuration problem, naming the key (dotted path) so the operator can find it.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var key: String
    public var problem: String
    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }
    public var description: String { key.isEmpty ? "config: \(problem)" : "config key '\(key)': \(problem)" }
}
