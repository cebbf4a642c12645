import Dispatch
import GatewayCore
import GatewayWSClient

/// An OpenAI-compatible streaming `/chat/completions` at a fixed pace: the upstream of the
/// scenarios that go through libcurl (fanout via HTTP, ttft, stop). Every request gets `tokens`
/// content chunks at `tokensPerSecond`, the first with the response head (a model whose first
/// token is ready at once, so time to first token is all transport and gateway), then a finish
/// chunk, a usage chunk and `[DONE]`. Each token's text is `@<µs> `, the wall-clock time it was
/// written, so a subscriber can time every token from the upstream's write to its own receipt.
/// A request is named by its tag, the text of its last message, in the close records.
///
/// `@unchecked Sendable`: `streams` is touched only by the handler callbacks, which all run on the
/// server's service thread.
final class SSEUpstream: StreamingHTTPHandler, @unchecked Sendable {
    /// Plain values only (the tag lives apart), so the tick's walk over every open stream copies
    /// no reference and touches no reference count: a thousand streams cost a few µs per tick.
    private struct Stream {
        var arrivedAtMicroseconds: Int
        var startNanoseconds: UInt64
        var nextDueNanoseconds: UInt64
        var emitted = 0
        var ended = false
    }

    let settings: UpstreamSettings
    private let onClose: @Sendable (UpstreamClose) -> Void
    private var streams: [Int: Stream] = [:]
    private var tags: [Int: String] = [:]
    private var due: [Int] = []

    private static let tokenPrefix = Array(#"data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"@"#.utf8)
    private static let tokenSuffix = Array(#" "},"finish_reason":null}]}"#.utf8) + [0x0A, 0x0A]

    init(settings: UpstreamSettings, onClose: @escaping @Sendable (UpstreamClose) -> Void) {
        self.settings = settings
        self.onClose = onClose
    }

    func requestArrived(_ stream: Int, method: StreamingHTTPMethod, path: String, body: [UInt8]) -> StreamingHTTPResponse {
        guard method == .post, path.hasSuffix("/chat/completions") else {
            return StreamingHTTPResponse(status: 404, contentType: "application/json",
                                         body: Array(#"{"error":{"message":"POST /v1/chat/completions only"}}"#.utf8), final: true)
        }
        guard let tag = Self.tag(of: body) else {
            return StreamingHTTPResponse(status: 400, contentType: "application/json",
                                         body: Array(#"{"error":{"message":"no messages"}}"#.utf8), final: true)
        }
        let start = DispatchTime.now().uptimeNanoseconds
        streams[stream] = Stream(arrivedAtMicroseconds: WallClock.microseconds(), startNanoseconds: start, nextDueNanoseconds: start)
        tags[stream] = tag
        var first: [UInt8] = []
        let final = emitDue(stream, into: &first)
        return StreamingHTTPResponse(status: 200, contentType: "text/event-stream", body: first, final: final)
    }

    func tick(_ output: inout StreamingHTTPOutput) {
        let now = DispatchTime.now().uptimeNanoseconds
        due.removeAll(keepingCapacity: true)
        for (id, stream) in streams where !stream.ended && stream.nextDueNanoseconds <= now { due.append(id) }
        for id in due {
            var bytes: [UInt8] = []
            let final = emitDue(id, into: &bytes)
            if !bytes.isEmpty || final { output.write(bytes, to: id, final: final) }
        }
    }

    func streamClosed(_ stream: Int, completed: Bool, atMicroseconds: Int) {
        guard let record = streams.removeValue(forKey: stream), let tag = tags.removeValue(forKey: stream) else { return }
        onClose(UpstreamClose(tag: tag, arrivedAtMicroseconds: record.arrivedAtMicroseconds,
                              closedAtMicroseconds: atMicroseconds, completed: completed, tokensSent: record.emitted))
    }

    /// Appends the tokens due by now (and the ending once the last is out); true when it ended.
    private func emitDue(_ id: Int, into bytes: inout [UInt8]) -> Bool {
        guard var stream = streams[id] else { return false }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - stream.startNanoseconds) / 1e9
        let due = min(settings.tokens, Int(elapsed * settings.tokensPerSecond) + 1)
        if stream.emitted < due {
            let stamp = Array(String(WallClock.microseconds()).utf8)
            for _ in stream.emitted..<due { bytes += Self.tokenPrefix + stamp + Self.tokenSuffix }
            stream.emitted = due
        }
        if stream.emitted == settings.tokens {
            bytes += Self.ending(outputTokens: settings.tokens)
            stream.ended = true
        }
        // Token `emitted` (0-based) is due `emitted / rate` after the start.
        stream.nextDueNanoseconds = stream.startNanoseconds + UInt64(Double(stream.emitted) / settings.tokensPerSecond * 1e9)
        streams[id] = stream
        return stream.ended
    }

    /// Finish reason, usage (what the gateway's `turn.end` reports, and the load client checks
    /// every subscriber against), end marker.
    static func ending(outputTokens: Int) -> [UInt8] {
        Array(("data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
            + "data: {\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,"
            + "\"completion_tokens\":\(outputTokens),\"total_tokens\":\(10 + outputTokens)}}\n\n"
            + "data: [DONE]\n\n").utf8)
    }

    /// The text of the request's last message.
    static func tag(of body: [UInt8]) -> String? {
        guard case .array(let messages)? = (try? JSONValue.parse(body))?["messages"],
              case .string(let text)? = messages.last?["content"] else { return nil }
        return text
    }
}

/// How the benchmark's upstream streams, and where it listens.
struct UpstreamSettings: Codable, Equatable {
    var tokensPerSecond: Double
    var tokens: Int
    var host = "127.0.0.1"
    var port = 0
}

/// One request's life as the upstream saw it; times are wall-clock µs since the epoch.
struct UpstreamClose: Codable, Equatable {
    var tag: String
    var arrivedAtMicroseconds: Int
    /// When the upstream saw the connection closed: after its last byte (`completed`) or by the client.
    var closedAtMicroseconds: Int
    var completed: Bool
    var tokensSent: Int
}
