import Foundation
import XCTest
@testable import GatewayCore

/// Recorded (`llamacpp-*`) and handmade (`handmade-*`) SSE bodies in Fixtures/sse/.
enum SSEFixtures {
    static var directory: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("sse")
    }

    static func load(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// Every fixture present, sorted by name: recorded ones are picked up as soon as they exist.
    static func all() throws -> [(name: String, bytes: [UInt8])] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".txt") }
            .sorted()
        return try names.map { ($0, try load($0)) }
    }
}

/// Feeds `chunks` then finishes; all events in order.
func parseSSE(_ chunks: [[UInt8]]) -> [SSEEvent] {
    var parser = SSEParser()
    var events: [SSEEvent] = []
    for chunk in chunks { events += parser.feed(chunk) }
    return events + parser.finish()
}

/// Feeds `body` as two chunks split at `split`, without copying (every-index tests stay fast).
func parseSSE(_ body: [UInt8], splitAt split: Int) -> [SSEEvent] {
    var parser = SSEParser()
    var events: [SSEEvent] = []
    body.withUnsafeBytes { all in
        parser.feed(UnsafeRawBufferPointer(rebasing: all[..<split])) { events.append($0) }
        parser.feed(UnsafeRawBufferPointer(rebasing: all[split...])) { events.append($0) }
    }
    parser.finish { events.append($0) }
    return events
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Rewrites every line end (CRLF, CR or LF) as `lineEnd`.
func withLineEnds(_ input: [UInt8], _ lineEnd: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(input.count * 2)
    var i = 0
    while i < input.count {
        switch input[i] {
        case 0x0D:
            out += lineEnd
            if i + 1 < input.count, input[i + 1] == 0x0A { i += 1 }
        case 0x0A:
            out += lineEnd
        default:
            out.append(input[i])
        }
        i += 1
    }
    return out
}

final class SSEParserTests: XCTestCase {
    func testHandmadeFieldsFollowWHATWG() throws {
        let events = parseSSE([try SSEFixtures.load("handmade-fields.txt")])
        XCTAssertEqual(events, [
            SSEEvent(event: "greeting", data: "first line\nsecond line\n two spaces keep one", id: "1"),
            // `data` without a colon is a data field with an empty value: the buffer is "\n", not empty.
            SSEEvent(event: "message", data: "", id: "1"),
            // `id: 2` and `event: ping` alone dispatch nothing; `id` without a value resets the ID to "".
            SSEEvent(event: "message", data: "{\"k\": \"ü€𝄞\"}", id: ""),
            SSEEvent(event: "message", data: "tail without blank line", id: ""),
        ])
    }

    /// The core guarantee: wherever the network splits the body, the events are the same.
    func testEverySplitPointOfEveryFixtureGivesIdenticalEvents() throws {
        let fixtures = try SSEFixtures.all()
        XCTAssertGreaterThanOrEqual(fixtures.count, 5)
        for (name, lfBody) in fixtures {
            let reference = parseSSE([lfBody])
            XCTAssertFalse(reference.isEmpty, name)
            // Recorded bodies use one line-end style; every style must give the same events.
            for lineEnd in [[0x0A], [0x0D, 0x0A], [0x0D]] as [[UInt8]] {
                let body = withLineEnds(lfBody, lineEnd)
                let label = "\(name) line end \(lineEnd)"
                XCTAssertEqual(parseSSE([body]), reference, label)
                for split in 0...body.count {
                    let events = parseSSE(body, splitAt: split)
                    if events != reference {
                        XCTFail("\(label): split at \(split) differs")
                        break
                    }
                }
                XCTAssertEqual(parseSSE(body.map { [$0] }), reference, "\(label): one byte at a time")
            }
        }
    }

    func testCRAtEndOfChunkAndLFAtStartOfNextAreOneLineEnd() {
        // Two line ends here would make a blank line and dispatch "a" alone.
        XCTAssertEqual(parseSSE([bytes("data: a\r"), bytes("\ndata: b\r\n\r\n")]), [SSEEvent(data: "a\nb")])
        // A CR at a chunk end followed by other text is a complete line end too.
        XCTAssertEqual(parseSSE([bytes("data: a\r"), bytes("data: b\r\r")]), [SSEEvent(data: "a\nb")])
        // Empty chunks in between do not lose the pending CR.
        XCTAssertEqual(parseSSE([bytes("data: a\r"), [], bytes("\n\r"), bytes("\n")]), [SSEEvent(data: "a")])
    }

    func testMixedLineEndsInOneStream() {
        XCTAssertEqual(parseSSE([bytes("data: 1\r\n\ndata: 2\r\rdata: 3\n\r\n")]),
                       [SSEEvent(data: "1"), SSEEvent(data: "2"), SSEEvent(data: "3")])
    }

    func testCommentsAndKeepAlivesAreIgnored() {
        XCTAssertEqual(parseSSE([bytes(": ping\n\n:\n\n: OPENROUTER PROCESSING\r\n\r\n")]), [])
        // A comment inside an event does not end it and is never data.
        XCTAssertEqual(parseSSE([bytes("data: a\n: {not json}\ndata: b\n\n")]), [SSEEvent(data: "a\nb")])
    }

    func testExactlyOneSpaceAfterColonIsStripped() {
        XCTAssertEqual(parseSSE([bytes("data:{\"x\":1}\n\ndata: {\"x\":1}\n\ndata:  y\n\n")]),
                       [SSEEvent(data: "{\"x\":1}"), SSEEvent(data: "{\"x\":1}"), SSEEvent(data: " y")])
    }

    func testMultiLineDataIsJoinedWithLF() {
        XCTAssertEqual(parseSSE([bytes("data: one\ndata: two\ndata:\ndata: four\n\n")]),
                       [SSEEvent(data: "one\ntwo\n\nfour")])
    }

    func testEventsWithoutDataAreNotDispatched() {
        XCTAssertEqual(parseSSE([bytes("event: ping\n\nid: 7\n\nretry: 10\n\n\n\n")]), [])
        // The event type does not leak into the next event; the last ID does (WHATWG).
        XCTAssertEqual(parseSSE([bytes("event: ping\nid: 7\n\ndata: x\n\n")]), [SSEEvent(data: "x", id: "7")])
    }

    func testUnknownFieldsAreIgnored() {
        XCTAssertEqual(parseSSE([bytes("foo: bar\nDATA: upper\ndata : spaced\nretry: x\ndata: ok\n\n")]),
                       [SSEEvent(data: "ok")])
    }

    func testDoneWithoutTrailingBlankLineIsDispatchedAtFinish() {
        var parser = SSEParser()
        XCTAssertEqual(parser.feed(bytes("data: {\"a\":1}\n\ndata: [DONE]")), [SSEEvent(data: "{\"a\":1}")])
        XCTAssertEqual(parser.finish(), [SSEEvent(data: "[DONE]")])
        XCTAssertEqual(parseSSE([bytes("data: [DONE]\n")]), [SSEEvent(data: "[DONE]")])
        XCTAssertEqual(parseSSE([bytes("data: [DONE]\r")]), [SSEEvent(data: "[DONE]")])
    }

    func testFinishResetsTheParser() {
        var parser = SSEParser()
        _ = parser.feed(bytes("event: x\nid: 1\ndata: partial"))
        XCTAssertEqual(parser.finish(), [SSEEvent(event: "x", data: "partial", id: "1")])
        XCTAssertEqual(parser.feed(bytes("data: next\n\n")), [SSEEvent(data: "next")])
    }

    func testLeadingBOMIsStrippedEvenWhenSplit() {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        XCTAssertEqual(parseSSE([bom + bytes("data: x\n\n")]), [SSEEvent(data: "x")])
        XCTAssertEqual(parseSSE([[0xEF], [0xBB], [0xBF], bytes("data: x\n\n")]), [SSEEvent(data: "x")])
        XCTAssertEqual(parseSSE([bom]), [])
        // Only the first BOM is special: a later one makes an unknown field name.
        XCTAssertEqual(parseSSE([bom + bytes("data: x\n\n") + bom + bytes("data: y\n\n")]), [SSEEvent(data: "x")])
    }

    func testMultiByteUTF8SplitAcrossChunks() {
        let body = bytes("data: é世🙂\n\n")
        for split in 0...body.count {
            XCTAssertEqual(parseSSE([Array(body[..<split]), Array(body[split...])]), [SSEEvent(data: "é世🙂")])
        }
    }

    func testUnsafeBufferFeedMatchesArrayFeed() {
        var parser = SSEParser()
        var events: [SSEEvent] = []
        bytes("data: a\n\ndata: b\n").withUnsafeBytes { parser.feed($0) { events.append($0) } }
        parser.finish { events.append($0) }
        XCTAssertEqual(events, [SSEEvent(data: "a"), SSEEvent(data: "b")])
    }

    /// Not a benchmark, a guard against quadratic behaviour on long lines split into many reads.
    func testLongLineInManySmallChunks() {
        let payload = String(repeating: "x", count: 200_000)
        let body = bytes("data: \(payload)\n\n")
        let chunks = stride(from: 0, to: body.count, by: 7).map { Array(body[$0..<min($0 + 7, body.count)]) }
        XCTAssertEqual(parseSSE(chunks), [SSEEvent(data: payload)])
    }
}

final class NDJSONLineSplitterTests: XCTestCase {
    func testLinesSplitAnywhere() {
        let body = bytes("{\"a\":\"é\"}\n\n{\"b\":2}\r\n  \n{\"done\":true}")
        let reference = ["{\"a\":\"é\"}", "{\"b\":2}", "{\"done\":true}"]
        for split in 0...body.count {
            var splitter = NDJSONLineSplitter()
            let lines = splitter.feed(Array(body[..<split])) + splitter.feed(Array(body[split...])) + splitter.finish()
            XCTAssertEqual(lines, reference, "split at \(split)")
        }
        var splitter = NDJSONLineSplitter()
        let lines = body.flatMap { splitter.feed([$0]) } + splitter.finish()
        XCTAssertEqual(lines, reference)
    }

    func testSeveralLinesInOneReadAndEmptyFinish() {
        var splitter = NDJSONLineSplitter()
        XCTAssertEqual(splitter.feed(bytes("{}\n{}\n")), ["{}", "{}"])
        XCTAssertEqual(splitter.finish(), [])
    }
}
