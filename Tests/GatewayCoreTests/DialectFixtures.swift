import Foundation
import XCTest
@testable import GatewayCore

/// The fixture folders of the non-OpenAI dialects: `Fixtures/anthropic/` (recorded `llamacpp-*`,
/// handmade `handmade-*`) and `Fixtures/ollama/` (handmade). Kept out of `Fixtures/sse/`, whose
/// every file the OpenAI tests decode.
enum DialectFixtures {
    static func directory(_ folder: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(folder)
    }

    static func load(_ folder: String, _ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory(folder).appendingPathComponent(name)))
    }

    /// Every `.txt` in the folder, sorted by name.
    static func all(_ folder: String) throws -> [(name: String, bytes: [UInt8])] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory(folder).path)
            .filter { $0.hasSuffix(".txt") }
            .sorted()
        return try names.map { ($0, try load(folder, $0)) }
    }
}

/// One unit the framing layer hands a decoder, with the arguments `UpstreamStream` passes.
struct DecoderUnit: Hashable {
    var type: String
    var data: String
    var atEndOfBody: Bool
}

/// `UpstreamStream`'s SSE framing: the parser's events, then what the end of the body completed.
func sseUnits(_ chunks: [[UInt8]]) -> [DecoderUnit] {
    var parser = SSEParser()
    var units: [DecoderUnit] = []
    for chunk in chunks {
        chunk.withUnsafeBytes { parser.feed($0) { units.append(DecoderUnit(type: $0.event, data: $0.data, atEndOfBody: false)) } }
    }
    parser.finish { units.append(DecoderUnit(type: $0.event, data: $0.data, atEndOfBody: true)) }
    return units
}

/// `UpstreamStream`'s NDJSON framing: the splitter's lines, then a last line without its newline.
func ndjsonUnits(_ chunks: [[UInt8]]) -> [DecoderUnit] {
    var lines = NDJSONLineSplitter()
    var units: [DecoderUnit] = []
    for chunk in chunks {
        chunk.withUnsafeBytes { lines.feed($0) { units.append(DecoderUnit(type: "", data: $0, atEndOfBody: false)) } }
    }
    lines.finish { units.append(DecoderUnit(type: "", data: $0, atEndOfBody: true)) }
    return units
}

func decodeAnthropic(units: [DecoderUnit], requestMessages: [ChatMessage] = []) -> [ProviderEvent] {
    var decoder = AnthropicStreamDecoder(requestMessages: requestMessages)
    return units.flatMap { decoder.decode(type: $0.type, data: $0.data, atEndOfBody: $0.atEndOfBody) } + decoder.finish()
}

func decodeOllama(units: [DecoderUnit], requestMessages: [ChatMessage] = []) -> [ProviderEvent] {
    var decoder = OllamaStreamDecoder(requestMessages: requestMessages)
    return units.flatMap { decoder.decode(type: $0.type, data: $0.data, atEndOfBody: $0.atEndOfBody) } + decoder.finish()
}

/// The SSE pipeline without the network: parser → Anthropic decoder → end of body.
func decodeAnthropic(_ chunks: [[UInt8]], requestMessages: [ChatMessage] = []) -> [ProviderEvent] {
    decodeAnthropic(units: sseUnits(chunks), requestMessages: requestMessages)
}

/// The NDJSON pipeline without the network: line splitter → Ollama decoder → end of body.
func decodeOllama(_ chunks: [[UInt8]], requestMessages: [ChatMessage] = []) -> [ProviderEvent] {
    decodeOllama(units: ndjsonUnits(chunks), requestMessages: requestMessages)
}

/// Fails at the first split point of `body` (two reads) where framing then decoding differs from
/// `reference`; also checks one byte at a time. The decoder is a pure function of the units, so
/// each distinct unit sequence is decoded once: every split still runs end to end, at the cost of
/// the framing alone when it produced units already seen. Returns how many splits were tried.
@discardableResult
func assertEverySplitDecodesAlike(_ body: [UInt8], reference: [ProviderEvent], _ label: String,
                                  units frame: ([[UInt8]]) -> [DecoderUnit], decode: ([DecoderUnit]) -> [ProviderEvent],
                                  file: StaticString = #filePath, line: UInt = #line) -> Int {
    XCTAssertEqual(decode(frame(body.map { [$0] })), reference, "\(label): one byte at a time", file: file, line: line)
    var decoded: [[DecoderUnit]: [ProviderEvent]] = [:]
    var tried = 0
    body.withUnsafeBufferPointer { all in
        for split in 0...body.count {
            tried += 1
            let units = frame([Array(all[..<split]), Array(all[split...])])
            let events = decoded[units] ?? decode(units)
            decoded[units] = events
            if events != reference {
                XCTFail("\(label): split at \(split) differs: \(events)", file: file, line: line)
                break
            }
        }
    }
    return tried
}

/// Exactly one `.usage`, immediately before exactly one terminal event, which is last.
func assertDecoderContract(_ events: [ProviderEvent], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(events.filter(\.isTerminal).count, 1, "\(label): one terminal", file: file, line: line)
    XCTAssertEqual(events.last?.isTerminal, true, "\(label): the terminal is last", file: file, line: line)
    let usages = events.indices.filter { if case .usage = events[$0] { true } else { false } }
    XCTAssertEqual(usages, [events.count - 2], "\(label): one usage, right before the terminal", file: file, line: line)
}

func tokenUsage(_ input: Int, _ output: Int, estimated: Bool = false) -> ProviderEvent {
    .usage(TokenUsage(inputTokens: input, outputTokens: output, estimated: estimated))
}
