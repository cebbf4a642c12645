@testable import GatewayBench
import GatewayCore
import GatewayWSClient
import Synchronization
import XCTest

/// The benchmark's upstream, driven directly (no sockets): what it writes must decode, with the
/// gateway's own SSE parser and OpenAI decoder, into stamped tokens, usage and an end; and it names
/// every request by its last message in the close records.
final class SSEUpstreamTests: XCTestCase {
    private func request(_ text: String) -> [UInt8] {
        Array(#"{"model":"m","stream":true,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"\#(text)"}]}"#.utf8)
    }

    private func decode(_ body: [UInt8]) -> [ProviderEvent] {
        var parser = SSEParser()
        var decoder = OpenAIStreamDecoder(requestMessages: [])
        var events: [ProviderEvent] = []
        for event in parser.feed(body) { events += decoder.decode(event.data) }
        return events
    }

    func testAFastStreamIsWholeInTheFirstAnswerAndDecodesLikeAnOpenAIStream() {
        let upstream = SSEUpstream(settings: UpstreamSettings(tokensPerSecond: 1_000_000, tokens: 4)) { _ in }
        let before = WallClock.microseconds()
        let response = upstream.requestArrived(1, method: .post, path: "/v1/chat/completions", body: request("tag-1"))
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.contentType, "text/event-stream")
        XCTAssertTrue(response.final)

        let events = decode(response.body)
        let texts = events.compactMap { event -> String? in if case .text(let text) = event { return text } else { return nil } }
        XCTAssertEqual(texts.count, 4)
        for text in texts {
            XCTAssertTrue(text.hasPrefix("@") && text.hasSuffix(" "), text)
            let stamp = Int(text.dropFirst().dropLast()) ?? 0
            XCTAssertTrue((before...WallClock.microseconds()).contains(stamp), "stamped with the write time: \(text)")
        }
        XCTAssertEqual(events.suffix(2).first, .usage(TokenUsage(inputTokens: 10, outputTokens: 4, estimated: false)))
        XCTAssertEqual(events.last, .finished(upstreamReason: "stop"))
    }

    func testASlowStreamSendsItsFirstTokenAtOnceAndTheRestOnLaterTicks() {
        let upstream = SSEUpstream(settings: UpstreamSettings(tokensPerSecond: 0.5, tokens: 3)) { _ in }
        let response = upstream.requestArrived(7, method: .post, path: "/v1/chat/completions", body: request("slow"))
        XCTAssertFalse(response.final)
        XCTAssertEqual(decode(response.body).count, 1, "one token with the head")
        var output = StreamingHTTPOutput()
        upstream.tick(&output)
        XCTAssertTrue(output.writes.isEmpty, "the next token is two seconds away")
    }

    func testClosesAreReportedWithTheTagAndHowFarTheStreamGot() {
        let closes = Mutex<[UpstreamClose]>([])
        let upstream = SSEUpstream(settings: UpstreamSettings(tokensPerSecond: 0.5, tokens: 3)) { close in
            closes.withLock { $0.append(close) }
        }
        _ = upstream.requestArrived(3, method: .post, path: "/v1/chat/completions", body: request("stop-9"))
        upstream.streamClosed(3, completed: false, atMicroseconds: 42)
        upstream.streamClosed(3, completed: false, atMicroseconds: 43)
        let reported = closes.withLock { $0 }
        XCTAssertEqual(reported.count, 1, "once per stream")
        XCTAssertEqual(reported.first?.tag, "stop-9")
        XCTAssertEqual(reported.first?.closedAtMicroseconds, 42)
        XCTAssertEqual(reported.first?.completed, false)
        XCTAssertEqual(reported.first?.tokensSent, 1)
    }

    func testOtherPathsAndRequestsWithoutMessagesAreRefused() {
        let upstream = SSEUpstream(settings: UpstreamSettings(tokensPerSecond: 10, tokens: 3)) { _ in }
        let wrongPath = upstream.requestArrived(1, method: .post, path: "/v1/embeddings", body: request("x"))
        XCTAssertEqual([wrongPath.status, wrongPath.final ? 1 : 0], [404, 1])
        let get = upstream.requestArrived(2, method: .get, path: "/v1/chat/completions", body: [])
        XCTAssertEqual(get.status, 404)
        let empty = upstream.requestArrived(3, method: .post, path: "/v1/chat/completions", body: Array(#"{"messages":[]}"#.utf8))
        XCTAssertEqual([empty.status, empty.final ? 1 : 0], [400, 1])
    }
}
