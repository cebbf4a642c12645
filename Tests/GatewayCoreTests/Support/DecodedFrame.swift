import XCTest
@testable import GatewayCore

/// A wire frame read back with the gateway's own strict parser, so tests assert on fields rather
/// than on byte layouts (which other tests already pin down).
struct DecodedFrame {
    let fields: [String: JSONValue]

    init(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
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

    func string(_ key: String) -> String? {
        if case .string(let value)? = fields[key] { return value }
        return nil
    }

    func int(_ key: String) -> Int? {
        if case .int(let value)? = fields[key] { return value }
        return nil
    }

    func bool(_ key: String) -> Bool? {
        if case .bool(let value)? = fields[key] { return value }
        return nil
    }

    /// A snapshot's `messages`, each as its fields; empty when the frame has none.
    var messages: [[String: JSONValue]] {
        guard case .array(let items)? = fields["messages"] else { return [] }
        return items.compactMap { item in
            if case .object(let members) = item { return members }
            return nil
        }
    }
}
