import XCTest
@testable import GatewayCore

/// `JSONValue.parse` (the strict parser behind client frames and config) and `JSONWriter` (behind
/// every server frame), including round trips of one through the other.
final class JSONParserTests: XCTestCase {
    // MARK: helpers

    private func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONValue? {
        do { return try JSONValue.parse(text) } catch {
            XCTFail("unexpected parse error for \(text.debugDescription): \(error)", file: file, line: line)
            return nil
        }
    }

    private func parseError(_ input: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> JSONParseError? {
        do throws(JSONParseError) {
            let value = try JSONValue.parse(input)
            XCTFail("expected a parse error for \(String(decoding: input, as: UTF8.self).debugDescription), got \(value)", file: file, line: line)
            return nil
        } catch { return error }
    }

    private func parseError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> JSONParseError? {
        parseError(Array(text.utf8), file: file, line: line)
    }

    private func assertError(_ text: String, offset: Int, reasonContains reason: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        guard let error = parseError(text, file: file, line: line) else { return }
        XCTAssertEqual(error.offset, offset, "offset for \(text.debugDescription): \(error)", file: file, line: line)
        XCTAssertTrue(error.reason.contains(reason), "reason for \(text.debugDescription) was '\(error.reason)', expected '\(reason)'",
                      file: file, line: line)
    }

    private func writeString(_ value: String) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.field("s", value)
        json.endObject()
        return json.bytes
    }

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    // MARK: valid documents

    func testScalars() {
        XCTAssertEqual(parse("null"), .null)
        XCTAssertEqual(parse("true"), .bool(true))
        XCTAssertEqual(parse("false"), .bool(false))
        XCTAssertEqual(parse("0"), .int(0))
        XCTAssertEqual(parse("42"), .int(42))
        XCTAssertEqual(parse("-7"), .int(-7))
        XCTAssertEqual(parse("\"\""), .string(""))
        XCTAssertEqual(parse("\"hello\""), .string("hello"))
    }

    func testWhitespaceAroundAndInsideIsAccepted() {
        XCTAssertEqual(parse(" \t\r\n{ \"a\" :\t[ 1 ,\n2 ] , \"b\" : { } }\r\n "),
                       .object(["a": .array([.int(1), .int(2)]), "b": .object([:])]))
    }

    func testArraysAndObjects() {
        XCTAssertEqual(parse("[]"), .array([]))
        XCTAssertEqual(parse("{}"), .object([:]))
        XCTAssertEqual(parse("[1,\"two\",true,null,[3],{\"four\":4.5}]"),
                       .array([.int(1), .string("two"), .bool(true), .null, .array([.int(3)]), .object(["four": .double(4.5)])]))
        XCTAssertEqual(parse("{\"type\":\"join\",\"session\":\"s1\",\"after_seq\":5,\"nested\":{\"x\":[null]}}"),
                       .object(["type": .string("join"), "session": .string("s1"), "after_seq": .int(5),
                                "nested": .object(["x": .array([.null])])]))
    }

    func testSubscriptAndTypeName() {
        let value = parse("{\"a\":1,\"b\":[],\"c\":{},\"d\":\"x\",\"e\":true,\"f\":null,\"g\":1.5}")!
        XCTAssertEqual(value["a"], .int(1))
        XCTAssertNil(value["missing"])
        XCTAssertNil(JSONValue.array([])["a"], "subscript of a non-object is nil")
        XCTAssertEqual(value["a"]?.typeName, "a number")
        XCTAssertEqual(value["g"]?.typeName, "a number")
        XCTAssertEqual(value["b"]?.typeName, "an array")
        XCTAssertEqual(value["c"]?.typeName, "an object")
        XCTAssertEqual(value["d"]?.typeName, "a string")
        XCTAssertEqual(value["e"]?.typeName, "a boolean")
        XCTAssertEqual(value["f"]?.typeName, "null")
    }

    func testDuplicateKeysKeepTheLastValue() {
        XCTAssertEqual(parse("{\"a\":1,\"a\":2}"), .object(["a": .int(2)]))
    }

    func testTypesAreExact() {
        // `true` is never the integer 1, and `1.0` is not an integer.
        XCTAssertNotEqual(parse("true"), .int(1))
        XCTAssertEqual(parse("1.0"), .double(1.0))
        XCTAssertNotEqual(parse("1.0"), .int(1))
    }

    // MARK: strings and escapes

    func testSimpleEscapes() {
        XCTAssertEqual(parse(#""a\"b\\c\/d\be\ff\ng\rh\ti""#), .string("a\"b\\c/d\u{08}e\u{0C}f\ng\rh\ti"))
    }

    func testUnicodeEscapes() {
        XCTAssertEqual(parse(#""\u0041\u00e9\u00E9\u4e2d""#), .string("Aéé中"))
        XCTAssertEqual(parse(#""\u0000""#), .string("\u{0}"))
        XCTAssertEqual(parse(#""\u001f\u007F""#), .string("\u{1F}\u{7F}"))
        XCTAssertEqual(parse(#""x\u2028y""#), .string("x\u{2028}y"))
    }

    func testSurrogatePairs() {
        XCTAssertEqual(parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(parse(#""\uD83D\uDE00""#), .string("😀"))
        XCTAssertEqual(parse(#""a\uD834\uDD1Eb""#), .string("a𝄞b"))
        XCTAssertEqual(parse(#""\uDBFF\uDFFF""#), .string("\u{10FFFF}"))
        XCTAssertEqual(parse(#""\uD800\uDC00""#), .string("\u{10000}"))
    }

    func testUnpairedSurrogatesAreRejected() {
        for bad in [#""\ud83d""#, #""\ud83dx""#, #""\ud83d\u0041""#, #""\ude00""#, #""\ude00\ud83d""#, #""\ud83d\ud83d""#] {
            guard let error = parseError(bad) else { continue }
            XCTAssertTrue(error.reason.contains("surrogate"), "\(bad): \(error)")
        }
    }

    func testRawUnicodeInStrings() {
        XCTAssertEqual(parse("\"héllo 中文 😀 \u{0301}\""), .string("héllo 中文 😀 \u{0301}"))
        XCTAssertEqual(parse("{\"ключ\":\"значение\"}"), .object(["ключ": .string("значение")]))
        // Raw multi-byte text mixed with escapes takes the slow path.
        XCTAssertEqual(parse("\"é\\n😀\\t中\""), .string("é\n😀\t中"))
    }

    func testInvalidUTF8InStringsIsRejected() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22],                         // never valid
            [0x22, 0x61, 0xC3, 0x22],                   // truncated two-byte sequence
            [0x22, 0xC0, 0xAF, 0x22],                   // overlong '/'
            [0x22, 0xED, 0xA0, 0x80, 0x22],             // UTF-16 surrogate encoded as UTF-8
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],       // beyond U+10FFFF
            [0x22, 0x80, 0x22],                         // lone continuation byte
            [0x22, 0x5C, 0x6E, 0xFF, 0x22],             // after an escape (slow path)
            [0x22, 0xFF, 0x5C, 0x6E, 0x22],             // before an escape (slow path)
        ]
        for input in cases {
            guard let error = parseError(input) else { continue }
            XCTAssertTrue(error.reason.contains("UTF-8"), "\(input): \(error)")
            XCTAssertEqual(error.offset, 1, "the offset is the start of the string's contents for \(input)")
        }
        // Invalid UTF-8 inside a key, in an object.
        if let error = parseError([0x7B, 0x22, 0xFE, 0x22, 0x3A, 0x31, 0x7D]) {
            XCTAssertTrue(error.reason.contains("UTF-8"), "\(error)")
            XCTAssertEqual(error.offset, 2)
        }
    }

    func testControlCharactersInStringsAreRejected() {
        assertError("\"a\nb\"", offset: 2, reasonContains: "control character")
        assertError("\"a\\nb\tc\"", offset: 5, reasonContains: "control character")
        assertError("\"\u{0}\"", offset: 1, reasonContains: "control character")
        // DEL is not a control character for JSON.
        XCTAssertEqual(parse("\"\u{7F}\""), .string("\u{7F}"))
    }

    func testInvalidEscapes() {
        assertError(#""\x""#, offset: 3, reasonContains: "invalid escape")
        assertError(#""\'""#, offset: 3, reasonContains: "invalid escape")
        assertError(#""\u12G4""#, offset: 5, reasonContains: "\\u")
        assertError(#""\u12""#, offset: 3, reasonContains: "end of input")
        assertError(#""abc\"#, offset: 5, reasonContains: "end of input")
    }

    func testUnterminatedStrings() {
        assertError("\"abc", offset: 4, reasonContains: "unterminated")
        assertError("\"a\\\"bc", offset: 6, reasonContains: "unterminated")
        assertError("{\"a", offset: 3, reasonContains: "unterminated")
    }

    // MARK: numbers

    func testIntegersVersusDoubles() {
        XCTAssertEqual(parse("123"), .int(123))
        XCTAssertEqual(parse("-123"), .int(-123))
        XCTAssertEqual(parse("1.5"), .double(1.5))
        XCTAssertEqual(parse("-0.25"), .double(-0.25))
        XCTAssertEqual(parse("1e3"), .double(1000))
        XCTAssertEqual(parse("1E3"), .double(1000))
        XCTAssertEqual(parse("1e+2"), .double(100))
        XCTAssertEqual(parse("25e-2"), .double(0.25))
        XCTAssertEqual(parse("-1.5E10"), .double(-1.5e10))
        XCTAssertEqual(parse("0.0"), .double(0))
        XCTAssertEqual(parse("0e0"), .double(0))
        XCTAssertEqual(parse("[1,2.0,3e0]"), .array([.int(1), .double(2), .double(3)]))
    }

    func testNegativeZero() {
        // As an integer, -0 is 0 (so `"after_seq":-0` is a valid 0, not a negative seq).
        XCTAssertEqual(parse("-0"), .int(0))
        guard case .double(let value)? = parse("-0.0") else { return XCTFail("-0.0 is a double") }
        XCTAssertEqual(value, 0)
        XCTAssertEqual(value.sign, .minus)
    }

    func testIntegerLimitsAndOverflowToDouble() {
        XCTAssertEqual(parse("9223372036854775807"), .int(Int.max))
        XCTAssertEqual(parse("-9223372036854775808"), .int(Int.min))
        XCTAssertEqual(parse("9223372036854775808"), .double(9223372036854775808.0))
        XCTAssertEqual(parse("-9223372036854775809"), .double(-9223372036854775809.0))
        XCTAssertEqual(parse("123456789012345678901234567890"), .double(1.2345678901234568e29))
    }

    func testInvalidNumbers() {
        assertError("-", offset: 1, reasonContains: "invalid number")
        assertError("-a", offset: 1, reasonContains: "invalid number")
        assertError("1.", offset: 2, reasonContains: "invalid number")
        assertError("1.e5", offset: 2, reasonContains: "invalid number")
        assertError("1e", offset: 2, reasonContains: "invalid number")
        assertError("1e+", offset: 3, reasonContains: "invalid number")
        assertError("[1.]", offset: 3, reasonContains: "invalid number")
        assertError(".5", offset: 0, reasonContains: "unexpected character")
        assertError("+1", offset: 0, reasonContains: "unexpected character")
        // A leading zero ends the number; what follows is trailing data.
        assertError("01", offset: 1, reasonContains: "after the document")
        assertError("-01", offset: 2, reasonContains: "after the document")
        assertError("NaN", offset: 0, reasonContains: "unexpected character")
        assertError("Infinity", offset: 0, reasonContains: "unexpected character")
    }

    // MARK: document-level errors

    func testEmptyAndWhitespaceOnlyInput() {
        assertError("", offset: 0, reasonContains: "end of input")
        assertError("   \n", offset: 4, reasonContains: "end of input")
    }

    func testTrailingGarbage() {
        assertError("{} x", offset: 3, reasonContains: "after the document")
        assertError("1 2", offset: 2, reasonContains: "after the document")
        assertError("[1]]", offset: 3, reasonContains: "after the document")
        assertError("{\"a\":1}}", offset: 7, reasonContains: "after the document")
        assertError("nullx", offset: 4, reasonContains: "after the document")
        assertError("\"a\"\"b\"", offset: 3, reasonContains: "after the document")
        if let error = parseError([0x7B, 0x7D, 0x00]) {
            XCTAssertEqual(error.offset, 2)
        }
    }

    func testStructuralErrorsAndTheirOffsets() {
        assertError("[1,]", offset: 3, reasonContains: "unexpected character")
        assertError("[1 2]", offset: 3, reasonContains: "expected ',' or ']'")
        assertError("[1", offset: 2, reasonContains: "end of input")
        assertError("[", offset: 1, reasonContains: "end of input")
        assertError("{\"a\" 1}", offset: 5, reasonContains: "expected ':'")
        assertError("{\"a\":1 \"b\":2}", offset: 7, reasonContains: "expected ',' or '}'")
        assertError("{1:2}", offset: 1, reasonContains: "string key")
        assertError("{\"a\":1,}", offset: 7, reasonContains: "string key")
        assertError("{\"a\":}", offset: 5, reasonContains: "unexpected character")
        assertError("{\"a\":1", offset: 6, reasonContains: "end of input")
        assertError("{", offset: 1, reasonContains: "string key")
        assertError("tru", offset: 0, reasonContains: "end of input")
        assertError("trux", offset: 0, reasonContains: "invalid literal")
        assertError("[nul]", offset: 1, reasonContains: "invalid literal")
        assertError("'a'", offset: 0, reasonContains: "unexpected character")
        assertError("[1]\u{FEFF}", offset: 3, reasonContains: "after the document")
    }

    func testErrorDescriptionNamesTheOffset() {
        guard let error = parseError("[1,]") else { return }
        XCTAssertEqual(error.description, "invalid JSON at byte 3: unexpected character")
    }

    func testByteOrderMark() {
        XCTAssertEqual(try? JSONValue.parse([0xEF, 0xBB, 0xBF] + Array("{\"a\":1}".utf8)), .object(["a": .int(1)]))
        XCTAssertEqual(try? JSONValue.parse([0xEF, 0xBB, 0xBF] + Array(" \n[true] ".utf8)), .array([.bool(true)]))
        XCTAssertEqual(try? JSONValue.parse([0xEF, 0xBB, 0xBF, 0x31]), .int(1))
        // Only at the very start, and only once.
        XCTAssertNotNil(parseError([0xEF, 0xBB, 0xBF]))
        XCTAssertNotNil(parseError([0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF, 0x31]))
        XCTAssertNotNil(parseError(Array("[".utf8) + [0xEF, 0xBB, 0xBF] + Array("]".utf8)))
        XCTAssertNotNil(parseError([0xEF, 0xBB]))
        // Inside a string it is just U+FEFF.
        XCTAssertEqual(try? JSONValue.parse([0x22, 0xEF, 0xBB, 0xBF, 0x22]), .string("\u{FEFF}"))
    }

    // MARK: nesting cap

    func testNestingUpToTheCapParses() {
        let arrays = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        XCTAssertNotNil(try? JSONValue.parse(arrays))
        let objects = String(repeating: "{\"a\":", count: 63) + "{}" + String(repeating: "}", count: 63)
        XCTAssertNotNil(try? JSONValue.parse(objects))
        // Depth is a nesting count, not a total: many siblings are fine.
        let wide = "[" + Array(repeating: String(repeating: "[", count: 63) + String(repeating: "]", count: 63), count: 200)
            .joined(separator: ",") + "]"
        XCTAssertNotNil(try? JSONValue.parse(wide))
    }

    func testNestingBeyondTheCapIsRejected() {
        assertError(String(repeating: "[", count: 65) + String(repeating: "]", count: 65), offset: 64, reasonContains: "nesting")
        let objects = String(repeating: "{\"a\":", count: 64) + "{}" + String(repeating: "}", count: 64)
        assertError(objects, offset: 64 * 5, reasonContains: "nesting")
        let mixed = String(repeating: "[{\"k\":", count: 33) + "1" + String(repeating: "}]", count: 33)
        guard let error = parseError(mixed) else { return }
        XCTAssertTrue(error.reason.contains("nesting"), "\(error)")
    }

    func testHostileDepthFailsFastWithoutExhaustingTheStack() {
        let hostile = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        guard let error = parseError(hostile) else { return }
        XCTAssertEqual(error.offset, 64)
        XCTAssertTrue(error.reason.contains("nesting"))
    }

    // MARK: JSONWriter

    func testWriterProducesCompactJSONWithTypeFirst() {
        var json = JSONWriter()
        json.beginObject()
        json.field("type", "x")
        json.field("n", 5)
        json.field("yes", true)
        json.field("no", false)
        json.fieldIfPresent("absent", nil as String?)
        json.fieldIfPresent("absentInt", nil as Int?)
        json.fieldIfPresent("present", "p")
        json.fieldIfPresent("presentInt", 0)
        json.beginArray("list")
        json.element("a")
        json.element("b")
        json.endArray()
        json.beginArray("objects")
        json.beginObject()
        json.field("i", 1)
        json.endObject()
        json.beginObject()
        json.endObject()
        json.endArray()
        json.beginObject("inner")
        json.field("k", "v")
        json.endObject()
        json.beginArray("empty")
        json.endArray()
        json.field("after", 1)
        json.endObject()
        XCTAssertEqual(text(json.bytes),
                       #"{"type":"x","n":5,"yes":true,"no":false,"present":"p","presentInt":0,"list":["a","b"],"# +
                       #""objects":[{"i":1},{}],"inner":{"k":"v"},"empty":[],"after":1}"#)
        XCTAssertEqual(try? JSONValue.parse(json.bytes)["inner"], .object(["k": .string("v")]))
    }

    func testWriterTopLevelArray() {
        var json = JSONWriter()
        json.beginArray()
        json.element("x")
        json.beginObject()
        json.endObject()
        json.endArray()
        XCTAssertEqual(text(json.bytes), #"["x",{}]"#)
    }

    func testWriterEscapesExactly() {
        XCTAssertEqual(text(writeString("a\"b\\c")), #"{"s":"a\"b\\c"}"#)
        XCTAssertEqual(text(writeString("\n\r\t")), #"{"s":"\n\r\t"}"#)
        XCTAssertEqual(text(writeString("\u{0}\u{1}\u{8}\u{C}\u{1F}")), #"{"s":"\u0000\u0001\u0008\u000c\u001f"}"#)
        // Non-ASCII and DEL are written as raw UTF-8; `/` is not escaped.
        XCTAssertEqual(text(writeString("é/😀\u{7F}")), "{\"s\":\"é/😀\u{7F}\"}")
        // Keys are escaped too.
        var json = JSONWriter()
        json.beginObject()
        json.field("k\"\n", 1)
        json.endObject()
        XCTAssertEqual(text(json.bytes), #"{"k\"\n":1}"#)
        XCTAssertEqual(try? JSONValue.parse(json.bytes), .object(["k\"\n": .int(1)]))
    }

    func testWriterStringsRoundTrip() {
        let allControls = String(String.UnicodeScalarView((0..<0x20).map { Unicode.Scalar(UInt8($0)) }))
        let samples = [
            "", "plain", "\"", "\\", "\\\"", "\"\\\"\\", "a\"b\\c/d", "line\nbreak\r\nwindows\ttab",
            allControls, "\u{7F}", "héllo", "中文字", "😀👍🏽👨‍👩‍👧", "e\u{0301}", "\u{2028}\u{2029}", "\u{FEFF}",
            "\u{10FFFF}", "\\u0041", "</script>", String(repeating: "\\\"", count: 1000),
        ]
        for sample in samples {
            let bytes = writeString(sample)
            XCTAssertEqual(try? JSONValue.parse(bytes), .object(["s": .string(sample)]), "round trip of \(sample.debugDescription)")
        }
    }

    func testWriterRandomStringsRoundTrip() {
        var rng = JSONTestRNG(seed: 0x5EED)
        let pool: [Unicode.Scalar] = (0..<0x20).map { Unicode.Scalar(UInt8($0)) }
            + ["\"", "\\", "/", "a", "Z", "0", " ", "\u{7F}", "\u{80}", "é", "\u{7FF}", "\u{800}", "中", "\u{FFFD}",
               "\u{FEFF}", "\u{10000}", "😀", "\u{10FFFF}", "u", "{", "}", "[", "]", ":", ","]
        for _ in 0..<500 {
            let length = Int(rng.next() % 40)
            var scalars = String.UnicodeScalarView()
            for _ in 0..<length { scalars.append(pool[Int(rng.next() % UInt64(pool.count))]) }
            let sample = String(scalars)
            XCTAssertEqual(try? JSONValue.parse(writeString(sample)), .object(["s": .string(sample)]),
                           "round trip of \(sample.debugDescription)")
        }
    }

    func testWriterIntsRoundTrip() {
        let values = [0, 1, -1, 7, 9, 10, -10, 99, 100, 101, 1000, 65535, -65536, 1 << 31, -(1 << 31), 1 << 53,
                      Int.max, Int.max - 1, Int.min, Int.min + 1, 1_000_000_007, -999_999_999_999]
        for value in values {
            var json = JSONWriter()
            json.beginObject()
            json.field("n", value)
            json.endObject()
            XCTAssertEqual(text(json.bytes), "{\"n\":\(value)}")
            XCTAssertEqual(try? JSONValue.parse(json.bytes), .object(["n": .int(value)]))
        }
        var rng = JSONTestRNG(seed: 42)
        for _ in 0..<1000 {
            let value = Int(bitPattern: UInt(rng.next())) >> Int(rng.next() % 64)
            var json = JSONWriter()
            json.beginObject()
            json.field("n", value)
            json.endObject()
            XCTAssertEqual(text(json.bytes), "{\"n\":\(value)}")
        }
    }

    func testWriterBoolsAndNestedValuesRoundTrip() {
        var json = JSONWriter()
        json.beginObject()
        json.field("t", true)
        json.field("f", false)
        json.beginObject("o")
        json.beginArray("a")
        json.element("x")
        json.endArray()
        json.endObject()
        json.endObject()
        XCTAssertEqual(try? JSONValue.parse(json.bytes),
                       .object(["t": .bool(true), "f": .bool(false), "o": .object(["a": .array([.string("x")])])]))
    }
}

/// SplitMix64: small, seeded, reproducible.
private struct JSONTestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
