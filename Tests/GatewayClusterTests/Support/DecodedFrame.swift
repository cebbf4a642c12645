import GatewayCore
import XCTest

/// A wire frame read back with the gateway's own parser, so tests assert on fields, not layouts.
struct DecodedFrame: Equatable {
    let bytes: [UInt8]
    let fields: [String: JSONValue]

    init(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        self.bytes = bytes
        if case .object(let members)? = try? JSONValue.parse(bytes) {
            fields = members
        } else {
            XCTFail("not a JSON object: \(String(decoding: bytes, as: UTF8.self))", file: file, line: line)
            fields = [:]
        }
    }

    var type: String? { string("type") }
    var seq: Int? { int("seq") }
    var fromSeq: Int? { int("from_seq") }
    var text: String? { string("text") }
    var turn: String? { string("turn") }
    /// The seqs this frame covers: a merged delta covers `from_seq...seq`; a snapshot none.
    var coveredSeqs: ClosedRange<Int>? {
        guard type != "snapshot", let seq else { return nil }
        return (fromSeq ?? seq)...seq
    }

    func string(_ key: String) -> String? {
        if case .string(let value)? = fields[key] { return value }
        return nil
    }

    func int(_ key: String) -> Int? {
        if case .int(let value)? = fields[key] { return value }
        return nil
    }

    /// A snapshot's `messages`, each as its fields.
    var messages: [[String: JSONValue]] {
        guard case .array(let items)? = fields["messages"] else { return [] }
        return items.compactMap { if case .object(let members) = $0 { members } else { nil } }
    }

    /// The fields without `ts`, which differs between stores (each has its own clock).
    var withoutTimestamp: [String: JSONValue] { fields.filter { $0.key != "ts" } }

    var description: String { String(decoding: bytes, as: UTF8.self) }
}
