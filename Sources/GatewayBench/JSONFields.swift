import Foundation
import GatewayCore

/// Strict reading of one JSON object of a benchmark input, with errors naming the key path (the
/// gateway's own config reader is internal to GatewayCore). Keys starting with `$` are comments.
struct JSONFields {
    let path: String
    private let members: [String: JSONValue]

    init(_ value: JSONValue?, path: String) throws(ConfigError) {
        self.path = path
        guard case .object(let object)? = value else {
            throw ConfigError(key: path, problem: "must be an object, not \(value?.typeName ?? "missing")")
        }
        members = object
    }

    /// A whole input file, parsed; errors name the file.
    static func readDocument(path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw BenchError("\(path): cannot read the file") }
        do { return try JSONValue.parse([UInt8](data)) } catch { throw BenchError("\(path): \(error)") }
    }

    func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }
    var keys: [String] { members.keys.filter { !$0.hasPrefix("$") }.sorted() }
    func raw(_ name: String) -> JSONValue? { members[name] }

    func rejectUnknownKeys(allowed: Set<String>) throws(ConfigError) {
        if let unknown = keys.first(where: { !allowed.contains($0) }) {
            throw ConfigError(key: key(unknown), problem: "unknown key (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    func string(_ name: String) throws(ConfigError) -> String {
        guard let text = try optionalString(name) else { throw ConfigError(key: key(name), problem: "missing (a string)") }
        return text
    }

    func optionalString(_ name: String) throws(ConfigError) -> String? {
        switch members[name] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case let other?: throw ConfigError(key: key(name), problem: "must be a string, not \(other.typeName)")
        }
    }

    func int(_ name: String, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case .int(let number)? = members[name] else {
            throw ConfigError(key: key(name), problem: "must be an integer, not \(members[name]?.typeName ?? "missing")")
        }
        guard range.contains(number) else {
            throw ConfigError(key: key(name), problem: "must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
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

    func array(_ name: String) throws(ConfigError) -> [JSONValue] {
        guard case .array(let items)? = members[name] else {
            throw ConfigError(key: key(name), problem: "must be a list, not \(members[name]?.typeName ?? "missing")")
        }
        return items
    }
}
