import Dispatch
import GatewayCore
import GatewayLLM
import Synchronization

/// One request straight to the upstream, as the gateway makes it (the same dialect builds the
/// request, the same curl client sends it, the same SSE parser and decoder read the answer), timed
/// from `start` to the first decoded text: the reference the gateway's time to first token is
/// compared with.
///
/// `@unchecked Sendable`: `parser` and `decoder` are used only on the curl thread, in order;
/// the outcome is behind `result`, and `done` is a semaphore.
final class DirectUpstreamCall: HTTPStreamHandler, @unchecked Sendable {
    private var parser = SSEParser()
    private var decoder: OpenAIStreamDecoder
    private let result = Mutex<(firstText: Int?, status: Int?, failure: String?)>((nil, nil, nil))
    private let done = DispatchSemaphore(value: 0)

    private init(decoder: OpenAIStreamDecoder) { self.decoder = decoder }

    /// Sends `request` through `client` and waits for the whole answer; returns µs from the start
    /// to the first text.
    static func timeToFirstText(_ request: ChatRequest, dialect: OpenAIDialect, client: HTTPStreamClient,
                                timeoutSeconds: Double) throws -> Int {
        let call = DirectUpstreamCall(decoder: dialect.makeDecoder(for: request))
        let upstream = dialect.httpRequest(for: request)
        let started = WallClock.microseconds()
        client.start(HTTPStreamRequest(url: upstream.url, method: .post, headers: upstream.headers, body: upstream.body,
                                       connectTimeout: .seconds(5), totalTimeout: .seconds(Int64(timeoutSeconds))),
                     handler: call)
        guard call.done.wait(timeout: .now() + timeoutSeconds + 1) == .success else {
            throw BenchError("direct upstream call: no answer within \(timeoutSeconds) s")
        }
        let (firstText, status, failure) = call.result.withLock { $0 }
        if let failure { throw BenchError("direct upstream call failed: \(failure)") }
        guard status == 200, let firstText else { throw BenchError("direct upstream call: HTTP \(status ?? 0), no text") }
        return firstText - started
    }

    func didReceiveHead(_ head: HTTPResponseHead) { result.withLock { $0.status = head.status } }

    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) {
        var sawText = false
        parser.feed(bytes) { event in
            for decoded in decoder.decode(type: event.event, data: event.data, atEndOfBody: false) {
                if case .text = decoded { sawText = true }
            }
        }
        guard sawText else { return }
        let now = WallClock.microseconds()
        result.withLock { $0.firstText = $0.firstText ?? now }
    }

    func didComplete(_ result: Result<Void, HTTPStreamError>) {
        if case .failure(let error) = result { self.result.withLock { $0.failure = "\(error)" } }
        done.signal()
    }
}
