/// One argument of a command, sent as a binary-safe bulk string (hiredis frames it with its
/// length, so spaces, CR/LF and zero bytes need no escaping).
///
/// String and integer literals work directly: `client.send(["SET", "key", 42])`.
public struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ text: String) { bytes = Array(text.utf8) }
    /// Decimal, the form Redis expects for counts, scores and TTLs.
    public init<Number: BinaryInteger>(_ number: Number) { bytes = Array(String(number).utf8) }

    public init(stringLiteral text: String) { self.init(text) }
    public init(integerLiteral number: Int) { self.init(number) }

    public static func bytes(_ bytes: [UInt8]) -> RedisArgument { RedisArgument(bytes) }

    /// The argument as text, for error messages and command-name checks.
    var text: String { String(decoding: bytes, as: UTF8.self) }
}
