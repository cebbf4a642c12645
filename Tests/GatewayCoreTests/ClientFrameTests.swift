import XCTest
@testable import GatewayCore

/// `ClientFrame.decode`: every frame type, and every way a frame can be wrong (each a `bad_request`
/// whose message names the field, so the client can tell what to fix).
final class ClientFrameTests: XCTestCase {
    private func decode(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ClientFrame? {
        do { return try ClientFrame.decode(Array(text.utf8)) } catch {
            XCTFail("\(text) should decode, got \(error)", file: file, line: line)
            return nil
        }
    }

    /// Asserts `input` is refused with `.badRequest` whose message contains every string in `mentions`.
    private func assertBadRequest(_ input: [UInt8], mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
        let shown = String(decoding: input, as: UTF8.self)
        do throws(ProtocolError) {
            let frame = try ClientFrame.decode(input)
            XCTFail("\(shown) should be refused, decoded \(frame)", file: file, line: line)
        } catch {
            guard case .badRequest(let message) = error else {
                return XCTFail("\(shown): expected badRequest, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.code, "bad_request", file: file, line: line)
            XCTAssertEqual(error.message, message, file: file, line: line)
            for mention in mentions {
                XCTAssertTrue(message.contains(mention), "\(shown): message '\(message)' should mention \(mention)",
                              file: file, line: line)
            }
        }
    }

    private func assertBadRequest(_ text: String, mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
        assertBadRequest(Array(text.utf8), mentions: mentions, file: file, line: line)
    }

    // MARK: each frame type

    func testHello() {
        XCTAssertEqual(decode(#"{"type":"hello"}"#), .hello(token: nil, client: nil, tenant: nil))
        XCTAssertEqual(decode(#"{"type":"hello","token":"t0k","client":"web/1.0"}"#), .hello(token: "t0k", client: "web/1.0", tenant: nil))
        XCTAssertEqual(decode(#"{"type":"hello","token":null,"client":null}"#), .hello(token: nil, client: nil, tenant: nil))
        XCTAssertEqual(decode(#"{"type":"hello","token":""}"#), .hello(token: "", client: nil, tenant: nil))
        XCTAssertEqual(decode(#"{"type":"hello","tenant":"acme"}"#), .hello(token: nil, client: nil, tenant: "acme"))
        XCTAssertEqual(decode(#"{"type":"hello","user":"ann","role":"agent"}"#),
                       .hello(token: nil, client: nil, tenant: nil, user: "ann", role: "agent"))
    }

    func testHelloRejectsABadUserOrRole() {
        for bad in [#"{"type":"hello","user":""}"#, #"{"type":"hello","user":"a b"}"#,
                    #"{"type":"hello","user":"\#(String(repeating: "u", count: 65))"}"#,
                    #"{"type":"hello","role":"root"}"#, #"{"type":"hello","role":7}"#] {
            XCTAssertThrowsError(try ClientFrame.decode(Array(bad.utf8)), bad)
        }
        for bad in [#""""#, #""a b""#, "\"\(String(repeating: "t", count: 65))\"", #""x\u0001""#] {
            assertBadRequest(#"{"type":"hello","tenant":"# + bad + "}", mentions: ["'tenant'"])
        }
        assertBadRequest(#"{"type":"hello","tenant":3}"#, mentions: ["'tenant'"])
    }

    func testJoin() {
        XCTAssertEqual(decode(#"{"type":"join","session":"s1"}"#), .join(session: "s1", afterSeq: nil))
        XCTAssertEqual(decode(#"{"type":"join","session":"s1","after_seq":0}"#), .join(session: "s1", afterSeq: 0))
        XCTAssertEqual(decode(#"{"type":"join","session":"s1","after_seq":42}"#), .join(session: "s1", afterSeq: 42))
        XCTAssertEqual(decode(#"{"type":"join","session":"s1","after_seq":null}"#), .join(session: "s1", afterSeq: nil))
        XCTAssertEqual(decode(#"{"type":"join","session":"s1","after_seq":-0}"#), .join(session: "s1", afterSeq: 0))
        XCTAssertEqual(decode(#"{"type":"join","session":"s1","after_seq":9223372036854775807}"#), .join(session: "s1", afterSeq: Int.max))
    }

    func testMessage() {
        XCTAssertEqual(decode(#"{"type":"message","session":"s1","id":"m-1","text":"hello \"world\"\n😀"}"#),
                       .message(session: "s1", id: "m-1", text: "hello \"world\"\n😀"))
        XCTAssertEqual(decode(#"{"type":"message","session":"s1","id":"x","text":" "}"#),
                       .message(session: "s1", id: "x", text: " "))
    }

    func testStopAndLeave() {
        XCTAssertEqual(decode(#"{"type":"stop","session":"s1"}"#), .stop(session: "s1"))
        XCTAssertEqual(decode(#"{"type":"leave","session":"s1"}"#), .leave(session: "s1"))
    }

    func testTyping() {
        XCTAssertEqual(decode(#"{"type":"typing","session":"s1"}"#), .typing(session: "s1"))
        XCTAssertEqual(decode(#"{"type":"typing","session":"s1","text":"ignored"}"#), .typing(session: "s1"))
        assertBadRequest(#"{"type":"typing","session":"a b"}"#, mentions: ["'session'"])
    }

    func testUnknownFieldsAreIgnoredAndOrderDoesNotMatter() {
        XCTAssertEqual(decode(#"{"session":"s1","extra":{"a":[1,2]},"type":"join","v":2}"#), .join(session: "s1", afterSeq: nil))
        XCTAssertEqual(decode(#"{"text":"hi","id":"1","session":"s","type":"message","future":true}"#),
                       .message(session: "s", id: "1", text: "hi"))
    }

    func testWhitespaceAndBOMAreAccepted() {
        XCTAssertEqual(decode(" \n{ \"type\" : \"stop\" , \"session\" : \"s\" }\n"), .stop(session: "s"))
        XCTAssertEqual(try? ClientFrame.decode([0xEF, 0xBB, 0xBF] + Array(#"{"type":"leave","session":"s"}"#.utf8)), .leave(session: "s"))
    }

    // MARK: not a frame

    func testInvalidJSON() {
        assertBadRequest("{", mentions: ["invalid JSON"])
        assertBadRequest("", mentions: ["invalid JSON"])
        assertBadRequest(#"{"type":"hello"} trailing"#, mentions: ["invalid JSON"])
        assertBadRequest([0x7B, 0x22, 0x74, 0xFF, 0x22, 0x3A, 0x31, 0x7D], mentions: ["invalid JSON", "UTF-8"])
    }

    func testNotAnObject() {
        for text in ["[]", #"["hello"]"#, #""hello""#, "1", "1.5", "true", "null"] {
            assertBadRequest(text, mentions: ["object"])
        }
    }

    // MARK: type

    func testMissingType() {
        assertBadRequest("{}", mentions: ["'type'", "missing"])
        assertBadRequest(#"{"session":"s1"}"#, mentions: ["'type'"])
        assertBadRequest(#"{"type":null}"#, mentions: ["'type'"])
    }

    func testTypeOfWrongType() {
        assertBadRequest(#"{"type":1}"#, mentions: ["'type'", "string", "number"])
        assertBadRequest(#"{"type":true}"#, mentions: ["'type'", "boolean"])
        assertBadRequest(#"{"type":["hello"]}"#, mentions: ["'type'", "array"])
        assertBadRequest(#"{"type":{}}"#, mentions: ["'type'", "object"])
    }

    func testUnknownType() {
        assertBadRequest(#"{"type":"subscribe","session":"s1"}"#, mentions: ["unknown", "'subscribe'"])
        assertBadRequest(#"{"type":"Hello"}"#, mentions: ["unknown", "'Hello'"])
        assertBadRequest(#"{"type":""}"#, mentions: ["unknown"])
        // A huge type name is not echoed back in full.
        let long = String(repeating: "x", count: 10_000)
        do throws(ProtocolError) {
            _ = try ClientFrame.decode(Array("{\"type\":\"\(long)\"}".utf8))
            XCTFail("unknown type accepted")
        } catch {
            XCTAssertLessThan(error.message.utf8.count, 200, "message echoes at most a prefix of the type")
        }
    }

    // MARK: session

    func testMissingSession() {
        for type in ["join", "message", "stop", "leave", "typing"] {
            assertBadRequest(#"{"type":"\#(type)","id":"1","text":"t"}"#, mentions: ["'session'", "missing"])
            assertBadRequest(#"{"type":"\#(type)","session":null,"id":"1","text":"t"}"#, mentions: ["'session'"])
        }
    }

    func testSessionOfWrongType() {
        for type in ["join", "message", "stop", "leave", "typing"] {
            assertBadRequest(#"{"type":"\#(type)","session":5,"id":"1","text":"t"}"#, mentions: ["'session'", "string"])
            assertBadRequest(#"{"type":"\#(type)","session":["s"],"id":"1","text":"t"}"#, mentions: ["'session'"])
        }
    }

    func testSessionIDLimits() {
        assertBadRequest(#"{"type":"join","session":""}"#, mentions: ["'session'"])
        let max = String(repeating: "s", count: ClientFrame.maxSessionIDBytes)
        XCTAssertEqual(decode(#"{"type":"join","session":"\#(max)"}"#), .join(session: max, afterSeq: nil))
        assertBadRequest(#"{"type":"join","session":"\#(max)s"}"#, mentions: ["'session'", "128"])
        // Bytes, not characters: 64 two-byte characters fit, 65 do not.
        let wide = String(repeating: "é", count: 64)
        XCTAssertEqual(decode(#"{"type":"join","session":"\#(wide)"}"#), .join(session: wide, afterSeq: nil))
        assertBadRequest(#"{"type":"join","session":"\#(wide)é"}"#, mentions: ["'session'"])
        assertBadRequest(#"{"type":"stop","session":"\#(max)s"}"#, mentions: ["'session'"])
        assertBadRequest(#"{"type":"message","session":"\#(max)s","id":"1","text":"t"}"#, mentions: ["'session'"])
    }

    func testSessionWithSpacesOrControlCharacters() {
        for bad in ["a b", " a", "a ", "a\\tb", "a\\nb", "a\\u0000b", "a\\u007fb", "\\u001f"] {
            assertBadRequest(#"{"type":"join","session":"\#(bad)"}"#, mentions: ["'session'"])
            assertBadRequest(#"{"type":"leave","session":"\#(bad)"}"#, mentions: ["'session'"])
        }
        // Punctuation and non-ASCII are fine.
        XCTAssertEqual(decode(#"{"type":"join","session":"room:42/général_😀"}"#), .join(session: "room:42/général_😀", afterSeq: nil))
    }

    // MARK: after_seq

    func testAfterSeqOfWrongType() {
        assertBadRequest(#"{"type":"join","session":"s","after_seq":"5"}"#, mentions: ["'after_seq'", "integer", "string"])
        assertBadRequest(#"{"type":"join","session":"s","after_seq":true}"#, mentions: ["'after_seq'", "boolean"])
        assertBadRequest(#"{"type":"join","session":"s","after_seq":false}"#, mentions: ["'after_seq'"])
        assertBadRequest(#"{"type":"join","session":"s","after_seq":1.5}"#, mentions: ["'after_seq'", "integer"])
        assertBadRequest(#"{"type":"join","session":"s","after_seq":5.0}"#, mentions: ["'after_seq'"])
        assertBadRequest(#"{"type":"join","session":"s","after_seq":1e2}"#, mentions: ["'after_seq'"])
        assertBadRequest(#"{"type":"join","session":"s","after_seq":[5]}"#, mentions: ["'after_seq'"])
        assertBadRequest(#"{"type":"join","session":"s","after_seq":{}}"#, mentions: ["'after_seq'"])
        assertBadRequest(#"{"type":"join","session":"s","after_seq":99999999999999999999}"#, mentions: ["'after_seq'"])
    }

    func testNegativeAfterSeq() {
        assertBadRequest(#"{"type":"join","session":"s","after_seq":-1}"#, mentions: ["'after_seq'", ">= 0"])
        assertBadRequest(#"{"type":"join","session":"s","after_seq":-9223372036854775808}"#, mentions: ["'after_seq'"])
    }

    // MARK: message fields

    func testMessageIDErrors() {
        assertBadRequest(#"{"type":"message","session":"s","text":"t"}"#, mentions: ["'id'", "missing"])
        assertBadRequest(#"{"type":"message","session":"s","id":null,"text":"t"}"#, mentions: ["'id'"])
        assertBadRequest(#"{"type":"message","session":"s","id":7,"text":"t"}"#, mentions: ["'id'", "string", "number"])
        assertBadRequest(#"{"type":"message","session":"s","id":"","text":"t"}"#, mentions: ["'id'"])
        let max = String(repeating: "i", count: ClientFrame.maxMessageIDBytes)
        XCTAssertEqual(decode(#"{"type":"message","session":"s","id":"\#(max)","text":"t"}"#), .message(session: "s", id: max, text: "t"))
        assertBadRequest(#"{"type":"message","session":"s","id":"\#(max)i","text":"t"}"#, mentions: ["'id'", "128"])
        let wide = String(repeating: "中", count: 43)  // 129 bytes
        assertBadRequest(#"{"type":"message","session":"s","id":"\#(wide)","text":"t"}"#, mentions: ["'id'"])
    }

    func testMessageTextErrors() {
        assertBadRequest(#"{"type":"message","session":"s","id":"1"}"#, mentions: ["'text'", "missing"])
        assertBadRequest(#"{"type":"message","session":"s","id":"1","text":null}"#, mentions: ["'text'"])
        assertBadRequest(#"{"type":"message","session":"s","id":"1","text":""}"#, mentions: ["'text'", "empty"])
        assertBadRequest(#"{"type":"message","session":"s","id":"1","text":42}"#, mentions: ["'text'", "string"])
        assertBadRequest(#"{"type":"message","session":"s","id":"1","text":["a"]}"#, mentions: ["'text'"])
    }

    func testHelloFieldsOfWrongType() {
        assertBadRequest(#"{"type":"hello","token":5}"#, mentions: ["'token'", "string"])
        assertBadRequest(#"{"type":"hello","client":{"name":"x"}}"#, mentions: ["'client'", "object"])
    }

    func testErrorsNameTheFirstProblemInFieldOrder() {
        // With several problems, the message names one field that is actually wrong.
        do throws(ProtocolError) {
            _ = try ClientFrame.decode(Array(#"{"type":"message","session":"a b","id":"","text":""}"#.utf8))
            XCTFail("accepted")
        } catch {
            XCTAssertTrue(["'session'", "'id'", "'text'"].contains { error.message.contains($0) }, error.message)
        }
    }
}
