import GatewayCore
import XCTest

/// JSONWriter's string escaping, byte for byte: what must be escaped is, everything else (non-ASCII
/// included) is copied as it is.
final class JSONWriterTests: XCTestCase {
    private func written(_ value: String) -> String {
        var json = JSONWriter()
        json.element(value)
        return String(decoding: json.bytes, as: UTF8.self)
    }

    func testPlainTextIsCopiedAsItIs() {
        XCTAssertEqual(written(""), #""""#)
        XCTAssertEqual(written("hello world "), #""hello world ""#)
        XCTAssertEqual(written("héllo 中 🚀 \u{7f}"), "\"héllo 中 🚀 \u{7f}\"")
    }

    func testQuotesBackslashesAndControlCharactersAreEscaped() {
        XCTAssertEqual(written("\"a\\b\""), #""\"a\\b\"""#)
        XCTAssertEqual(written("\n\r\t"), #""\n\r\t""#)
        XCTAssertEqual(written("\u{0}x\u{1f}"), #""\u0000x\u001f""#)
        XCTAssertEqual(written("start\nmiddle\"end"), #""start\nmiddle\"end""#)
    }

    func testALongStringWithManyEscapesIsWrittenWhole() {
        let text = String(repeating: "token \"quoted\" ", count: 40) + "end"
        let escaped = String(repeating: #"token \"quoted\" "#, count: 40) + "end"
        XCTAssertEqual(written(text), "\"" + escaped + "\"")
    }
}
