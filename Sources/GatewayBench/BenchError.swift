/// Why a benchmark could not run: a missing or malformed input file, or a config that does not
/// add up. The message names the file and, for config problems, the key.
public struct BenchError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
