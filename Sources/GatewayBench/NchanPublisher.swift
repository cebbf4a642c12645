import Dispatch
import Foundation
import GatewayLLM
import Synchronization

/// nchan's token source in a fan-out run: for each channel, `tokens` tokens at `tokensPerSecond`
/// and then an end, posted to nchan's HTTP publisher location `/pub/<channel>`. Each message is a
/// chat.v1-shaped `turn.delta` (`turn.end` last, with the usage count) carrying `seq`, `ts` (when
/// it is handed to curl: the gateway's `ts` is its append time) and, per token, an `@µs` stamp of
/// when the token was due (so token latency covers the publish path too, as it covers libcurl
/// and the gateway for an HTTP upstream). The subscribers check and time these exactly as they do
/// the gateway's events. Channel starts are spread over the stagger window, as turn starts are.
///
/// Why GatewayLLM's `HTTPStreamClient`: thousands of posts a second must not make the publisher the
/// bottleneck, and it is one libcurl multi handle on one thread with keep-alive connections reused
/// (no process, thread or connection per post), with no HTTP written by hand. One post in flight per
/// channel keeps each channel's messages in order (two posts racing on two connections could reach
/// nginx out of order). Tokens that fall due while their channel's post is still out go together
/// in the next one, as one delta covering them all (`from_seq`), which is what the gateway does for
/// a subscriber that falls behind; how late posts go out is reported as publisher lag, with the
/// publisher's CPU, so a run the publisher held back shows it.
final class NchanPublisher: Sendable {
    struct Report: Equatable {
        var posts = 0
        /// Non-2xx statuses and transport errors, by kind.
        var failures: [String: Int] = [:]
        /// How late each post was handed to curl after its first token was due, µs.
        var lag = LatencyHistogram()
    }

    private struct Channel {
        var name: String
        var startMicroseconds: Int
        /// Messages handed to curl: 0...tokens + 1 (the end last).
        var started = 0
        var inFlight = false
    }

    private struct State {
        var channels: [Channel]
        var report = Report()
        /// Channels whose end has not been answered yet.
        var remaining: Int
    }

    private let baseURL: String
    private let tokens: Int
    private let tokensPerSecond: Double
    private let state: Mutex<State>
    private let client = HTTPStreamClient(name: "nchan-publish")
    private let finished = DispatchSemaphore(value: 0)

    /// `baseURL` is nchan's publisher prefix, e.g. `http://127.0.0.1:PORT/pub/`.
    init(baseURL: String, channels: [String], tokens: Int, tokensPerSecond: Double, staggerMilliseconds: Double) {
        self.baseURL = baseURL
        self.tokens = tokens
        self.tokensPerSecond = tokensPerSecond
        let now = WallClock.microseconds()
        let spread = channels.enumerated().map { index, name in
            Channel(name: name, startMicroseconds: now + Int(staggerMilliseconds * 1000 * Double(index) / Double(max(1, channels.count))))
        }
        state = Mutex(State(channels: spread, remaining: channels.count))
    }

    /// Posts every message on schedule (the calling thread paces, curl's thread sends); returns
    /// once every post completed, or throws when they did not within `timeoutSeconds`.
    func run(timeoutSeconds: Double) throws -> Report {
        defer { client.shutdown() }
        let deadline = DispatchTime.now() + timeoutSeconds
        while state.withLock({ $0.remaining > 0 }) {
            let wait = min(1000, max(100, startDue() - WallClock.microseconds()))
            if finished.wait(timeout: .now() + .microseconds(wait)) == .success { break }
            if DispatchTime.now() > deadline {
                throw BenchError("nchan publisher: \(state.withLock { $0.remaining }) channels not done within \(Int(timeoutSeconds)) s")
            }
        }
        return state.withLock { $0.report }
    }

    /// When token `index` (0-based; `tokens` is the end, due with the last token) of a channel is
    /// due, µs since the epoch.
    private func due(_ channel: Channel, _ index: Int) -> Int {
        channel.startMicroseconds + Int(Double(min(index, tokens - 1)) * 1_000_000 / tokensPerSecond)
    }

    /// Hands every due post to curl; returns when the next idle channel's post falls due (µs
    /// since the epoch; channels in flight go on from their completion instead).
    private func startDue() -> Int {
        let now = WallClock.microseconds()
        var earliest = Int.max
        let posts = state.withLock { state -> [(Int, [UInt8])] in
            var posts: [(Int, [UInt8])] = []
            for index in state.channels.indices {
                if let post = next(&state, channel: index, now: now) { posts.append((index, post)) }
                let channel = state.channels[index]
                if !channel.inFlight && channel.started <= tokens { earliest = min(earliest, due(channel, channel.started)) }
            }
            return posts
        }
        for (channel, body) in posts { post(body, channel: channel) }
        return earliest
    }

    /// The next message of a channel if it is due and none is in flight (marking its tokens
    /// started): every token due by now, or the end once they are all out.
    private func next(_ state: inout State, channel index: Int, now: Int) -> [UInt8]? {
        var channel = state.channels[index]
        guard !channel.inFlight, channel.started <= tokens else { return nil }
        let firstDue = due(channel, channel.started)
        guard firstDue <= now else { return nil }
        state.report.lag.record(now - firstDue)
        let first = channel.started + 1
        let ts = (now + 500) / 1000
        let body: String
        if channel.started < tokens {
            var text = ""
            while channel.started < tokens, case let dueAt = due(channel, channel.started), dueAt <= now {
                text += "@\(dueAt) "
                channel.started += 1
            }
            let merged = channel.started > first ? ",\"from_seq\":\(first)" : ""
            body = #"{"type":"turn.delta","session":"\#(channel.name)","seq":\#(channel.started)\#(merged),"turn":"t1","text":"\#(text)","ts":\#(ts)}"#
        } else {
            channel.started += 1
            body = #"{"type":"turn.end","session":"\#(channel.name)","seq":\#(first),"turn":"t1","finish":"stop","usage":{"input_tokens":1,"output_tokens":\#(tokens),"estimated":false},"ts":\#(ts)}"#
        }
        channel.inFlight = true
        state.channels[index] = channel
        return Array(body.utf8)
    }

    private func post(_ body: [UInt8], channel: Int) {
        let name = state.withLock { $0.channels[channel].name }
        let request = HTTPStreamRequest(url: baseURL + name, method: .post,
                                        headers: [("Content-Type", "application/json"), ("Accept", "text/plain"), ("Expect", "")],
                                        body: body, connectTimeout: .seconds(5), totalTimeout: .seconds(30))
        client.start(request, handler: PublishHandler(publisher: self, channel: channel))
    }

    /// Curl thread: a post ended; the channel's next message goes out at once if it is already due.
    fileprivate func completed(channel: Int, status: Int?, error: HTTPStreamError?) {
        let now = WallClock.microseconds()
        let (follow, done) = state.withLock { state -> ([UInt8]?, Bool) in
            state.report.posts += 1
            if state.channels[channel].started > tokens { state.remaining -= 1 }
            if let error {
                state.report.failures["\(error)", default: 0] += 1
            } else if let status, !(200..<300).contains(status) {
                state.report.failures["http_\(status)", default: 0] += 1
            }
            state.channels[channel].inFlight = false
            return (next(&state, channel: channel, now: now), state.remaining == 0)
        }
        if let follow { post(follow, channel: channel) }
        if done { finished.signal() }
    }
}

/// One post's answer: only its status matters.
private final class PublishHandler: HTTPStreamHandler, @unchecked Sendable {
    // Curl thread only (every HTTPStreamHandler callback runs there, in order).
    private var status: Int?
    private let publisher: NchanPublisher
    private let channel: Int

    init(publisher: NchanPublisher, channel: Int) {
        self.publisher = publisher
        self.channel = channel
    }

    func didReceiveHead(_ head: HTTPResponseHead) { status = head.status }
    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) {}

    func didComplete(_ result: Result<Void, HTTPStreamError>) {
        if case .failure(let error) = result {
            publisher.completed(channel: channel, status: nil, error: error)
        } else {
            publisher.completed(channel: channel, status: status, error: nil)
        }
    }
}
