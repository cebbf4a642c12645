import GatewayCore
import XCTest

/// A wire frame read back with the gateway's own strict parser, so tests assert on fields rather
/// than on byte layouts (which other tests already pin down).
public struct DecodedFrame: Equatable, CustomStringConvertible {
    public let bytes: [UInt8]
    public let fields: [String: JSONValue]

    public init(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        self.bytes = bytes
        if case .object(let members)? = try? JSONValue.parse(bytes) {
            fields = members
        } else {
            XCTFail("not a JSON object: \(String(decoding: bytes, as: UTF8.self))", file: file, line: line)
            fields = [:]
        }
    }

    public var type: String? { string("type") }
    public var seq: Int? { int("seq") }
    public var fromSeq: Int? { int("from_seq") }
    public var text: String? { string("text") }
    public var turn: String? { string("turn") }
    /// The seqs this frame covers: a merged delta covers `from_seq...seq`; a snapshot none.
    public var coveredSeqs: ClosedRange<Int>? {
        guard type != "snapshot", let seq else { return nil }
        return (fromSeq ?? seq)...seq
    }

    public func string(_ key: String) -> String? {
        if case .string(let value)? = fields[key] { return value }
        return nil
    }

    public func int(_ key: String) -> Int? {
        if case .int(let value)? = fields[key] { return value }
        return nil
    }

    public func bool(_ key: String) -> Bool? {
        if case .bool(let value)? = fields[key] { return value }
        return nil
    }

    /// A snapshot's `messages`, each as its fields; empty when the frame has none.
    public var messages: [[String: JSONValue]] {
        guard case .array(let items)? = fields["messages"] else { return [] }
        return items.compactMap { if case .object(let members) = $0 { members } else { nil } }
    }

    /// The fields without `ts`, which differs between stores (each has its own clock).
    public var withoutTimestamp: [String: JSONValue] { fields.filter { $0.key != "ts" } }

    public var description: String { String(decoding: bytes, as: UTF8.self) }
}
