/// Reads one JSON object of the config, type-checking each key and refusing keys it does not know
/// (a misspelt key would otherwise be silently ignored).
struct ConfigSection {
    let path: String
    private let members: [String: JSONValue]

    init(_ value: JSONValue?, path: String) throws(ConfigError) {
        self.path = path
        switch value {
        case nil, .null?: members = [:]
        case .object(let object)?: members = object
        case let other?: throw ConfigError(key: path, problem: "must be an object, not \(other.typeName)")
        }
    }

    func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    /// Keys starting with `$` are comments (JSON has none), so config files can document themselves.
    func rejectUnknownKeys(allowed: Set<String>) throws(ConfigError) {
        if let unknown = keys.first(where: { !allowed.contains($0) }) {
            throw ConfigError(key: key(unknown), problem: "unknown key (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    var keys: [String] { members.keys.filter { !$0.hasPrefix("$") }.sorted() }
    func raw(_ name: String) -> JSONValue? { members[name] }

    /// The elements of an array key, each with its path (`key[0]`); empty when absent or null.
    func array(_ name: String) throws(ConfigError) -> [(path: String, value: JSONValue)] {
        switch members[name] {
        case nil, .null?: return []
        case .array(let elements)?: return elements.enumerated().map { ("\(key(name))[\($0.offset)]", $0.element) }
        case let other?: throw ConfigError(key: key(name), problem: "must be an array, not \(other.typeName)")
        }
    }

    func stringArray(_ name: String) throws(ConfigError) -> [String] {
        var strings: [String] = []
        for (path, value) in try array(name) {
            guard case .string(let text) = value, !text.isEmpty else {
                throw ConfigError(key: path, problem: "must be a non-empty string, not \(value.typeName)")
            }
            strings.append(text)
        }
        return strings
    }

    func string(_ name: String, default value: String) throws(ConfigError) -> String {
        try optionalString(name) ?? value
    }

    func optionalString(_ name: String) throws(ConfigError) -> String? {
        switch members[name] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case let other?: throw ConfigError(key: key(name), problem: "must be a string, not \(other.typeName)")
        }
    }

    func int(_ name: String, default value: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        try optionalInt(name, range: range) ?? value
    }

    func optionalInt(_ name: String) throws(ConfigError) -> Int? {
        switch members[name] {
        case nil, .null?: return nil
        case .int(let number)?: return number
        case let other?: throw ConfigError(key: key(name), problem: "must be an integer, not \(other.typeName)")
        }
    }

    func double(_ name: String, default value: Double, range: ClosedRange<Double>) throws(ConfigError) -> Double {
        try optionalDouble(name, range: range) ?? value
    }

    func optionalDouble(_ name: String, range: ClosedRange<Double>) throws(ConfigError) -> Double? {
        let number: Double
        switch members[name] {
        case nil, .null?: return nil
        case .int(let whole)?: number = Double(whole)
        case .double(let fraction)?: number = fraction
        case let other?: throw ConfigError(key: key(name), problem: "must be a number, not \(other.typeName)")
        }
        guard range.contains(number) else {
            throw ConfigError(key: key(name), problem: "must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }

    func optionalInt(_ name: String, range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let number = try optionalInt(name) else { return nil }
        guard range.contains(number) else {
            throw ConfigError(key: key(name), problem: "must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }

    func bool(_ name: String, default value: Bool) throws(ConfigError) -> Bool {
        switch members[name] {
        case nil, .null?: return value
        case .bool(let flag)?: return flag
        case let other?: throw ConfigError(key: key(name), problem: "must be true or false, not \(other.typeName)")
        }
    }
}
