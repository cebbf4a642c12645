import Foundation

/// Reads `--flag value` pairs (and bare `--flag`s) for one scenario, with errors that name the flag.
struct FlagReader {
    private var arguments: [String]
    let scenario: String

    init(_ arguments: [String], scenario: String) {
        self.arguments = arguments
        self.scenario = scenario
    }

    /// The next flag, or nil at the end.
    mutating func nextFlag() -> String? {
        guard !arguments.isEmpty else { return nil }
        return arguments.removeFirst()
    }

    mutating func value(for flag: String) throws(UsageError) -> String {
        guard let value = arguments.first, !value.hasPrefix("--") else { throw UsageError("\(flag) needs a value") }
        arguments.removeFirst()
        return value
    }

    mutating func int(for flag: String, range: ClosedRange<Int>) throws(UsageError) -> Int {
        let text = try value(for: flag)
        guard let number = Int(text), range.contains(number) else {
            throw UsageError("\(flag) must be a whole number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return number
    }

    mutating func double(for flag: String, range: ClosedRange<Double>) throws(UsageError) -> Double {
        let text = try value(for: flag)
        guard let number = Double(text), range.contains(number) else {
            throw UsageError("\(flag) must be a number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return number
    }

    /// A comma-separated list, e.g. `--connections 1000,10000,19000`.
    mutating func ints(for flag: String, range: ClosedRange<Int>) throws(UsageError) -> [Int] {
        let text = try value(for: flag)
        let numbers = text.split(separator: ",").compactMap { Int($0) }
        guard !numbers.isEmpty, numbers.count == text.split(separator: ",").count, numbers.allSatisfy(range.contains) else {
            throw UsageError("\(flag) must be whole numbers in \(range.lowerBound)...\(range.upperBound), comma-separated, got '\(text)'")
        }
        return numbers
    }

    mutating func doubles(for flag: String, range: ClosedRange<Double>) throws(UsageError) -> [Double] {
        let text = try value(for: flag)
        let numbers = text.split(separator: ",").compactMap { Double($0) }
        guard !numbers.isEmpty, numbers.count == text.split(separator: ",").count, numbers.allSatisfy(range.contains) else {
            throw UsageError("\(flag) must be numbers in \(range.lowerBound)...\(range.upperBound), comma-separated, got '\(text)'")
        }
        return numbers
    }

    func unknown(_ flag: String) -> UsageError { UsageError("unknown option \(flag) for \(scenario)") }
}

struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
