import Foundation
import GatewayCore

/// One upstream stream: the HTTP handler (curl thread) and the `ProviderStream` handed to the turn
/// (cancelled from any thread). Framing (SSE or NDJSON) and meaning (the dialect's decoder) are
/// pure core types; this class only moves bytes between them and maps transport outcomes.
///
/// @unchecked Sendable: `lock` guards `cancelled` and `transferID`; `phase`, `sse`, `lines`,
/// `decoder`, `errorBody` and `terminated` are touched only by HTTPStreamHandler callbacks, i.e. on
/// the curl thread.
final class UpstreamStream<Dialect: UpstreamDialect>: ProviderStream, HTTPStreamHandler, @unchecked Sendable {
    /// Error bodies are only quoted (300 characters), so keeping more is pointless.
    private static var maxErrorBodyBytes: Int { 16 * 1024 }

    private enum Phase {
        case awaitingHead
        case streaming
        /// Non-2xx: collect the body for the error message.
        case httpError(status: Int, retryAfterMillis: Int?)
        /// 2xx but one JSON document instead of a stream: a server that ignored `stream` or answered an error.
        case unexpectedJSON
    }

    private let client: HTTPStreamClient
    private let dialect: Dialect
    private let clock: @Sendable () -> Int
    private let onEvent: @Sendable (ProviderEvent) -> Void
    /// The request's credentials: redacted from every error message (upstreams may quote them).
    private let secrets: [String]

    private let lock = NSLock()
    private var cancelled = false
    private var transferID: HTTPTransferID?

    private var phase = Phase.awaitingHead
    private var sse = SSEParser()
    private var lines = NDJSONLineSplitter()
    private var decoder: Dialect.Decoder
    private var errorBody: [UInt8] = []
    private var terminated = false

    init(client: HTTPStreamClient, dialect: Dialect, decoder: Dialect.Decoder, secrets: [String] = [],
         clock: @escaping @Sendable () -> Int, onEvent: @escaping @Sendable (ProviderEvent) -> Void) {
        self.client = client
        self.dialect = dialect
        self.decoder = decoder
        self.secrets = secrets
        self.clock = clock
        self.onEvent = onEvent
    }

    func attach(_ id: HTTPTransferID) {
        lock.withLock { transferID = id }
    }

    func cancel() {
        let id: HTTPTransferID? = lock.withLock {
            guard !cancelled else { return nil }
            cancelled = true
            return transferID
        }
        if let id { client.cancel(id) }
    }

    // MARK: - HTTPStreamHandler (curl thread)

    func didReceiveHead(_ head: HTTPResponseHead) {
        guard head.isSuccess else {
            phase = .httpError(status: head.status, retryAfterMillis: RetryAfter.millis(headers: head.headers, nowMillis: clock()))
            return
        }
        let contentType = head.value(forHeader: "Content-Type")?.lowercased() ?? ""
        phase = contentType.hasPrefix("application/json") ? .unexpectedJSON : .streaming
    }

    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) {
        switch phase {
        case .streaming:
            switch dialect.framing {
            case .serverSentEvents:
                sse.feed(bytes) { event in emit(decoder.decode(type: event.event, data: event.data, atEndOfBody: false)) }
            case .newlineDelimitedJSON:
                lines.feed(bytes) { line in emit(decoder.decode(type: "", data: line, atEndOfBody: false)) }
            }
        case .httpError, .unexpectedJSON:
            errorBody.append(contentsOf: bytes.prefix(max(0, Self.maxErrorBodyBytes - errorBody.count)))
        case .awaitingHead:
            break  // the client always delivers a head first
        }
    }

    func didComplete(_ result: Result<Void, HTTPStreamError>) {
        if case .failure(.aborted) = result {
            // Our own cancel: stay silent. Otherwise the client is shutting down under us.
            emit([.failed(.upstreamError("the upstream request was aborted: the gateway is shutting down"))])
            return
        }
        switch phase {
        case .streaming:
            finishStreaming(result)
        case let .httpError(status, retryAfterMillis):
            emit([.failed(dialect.httpError(status: status, body: errorBody, retryAfterMillis: retryAfterMillis))])
        case .unexpectedJSON:
            let detail = UpstreamHTTPError.detail(body: errorBody)
            emit([.failed(.upstreamError("expected a stream, got one JSON document: \(detail)"))])
        case .awaitingHead:
            emit([.failed(Self.errorBeforeResponse(result))])
        }
    }

    private func finishStreaming(_ result: Result<Void, HTTPStreamError>) {
        // A unit the body end completed (e.g. `data: [DONE]` without its blank line, a last line
        // without its newline).
        switch dialect.framing {
        case .serverSentEvents:
            sse.finish { event in emit(decoder.decode(type: event.event, data: event.data, atEndOfBody: true)) }
        case .newlineDelimitedJSON:
            lines.finish { line in emit(decoder.decode(type: "", data: line, atEndOfBody: true)) }
        }
        switch result {
        case .success:
            emit(decoder.finish(failure: .upstreamTruncated))
        case let .failure(.timedOut(message)):
            emit(decoder.finish(failure: .upstreamTimeout(message)))
        case let .failure(.couldNotConnect(message)), let .failure(.connectTimedOut(message)),
             let .failure(.transport(_, message)):
            let cut = TurnError.upstreamTruncated
            emit(decoder.finish(failure: TurnError(code: cut.code, message: "\(cut.message) (\(message))", retry: cut.retry)))
        case .failure(.aborted):
            break  // handled by the caller
        }
    }

    private static func errorBeforeResponse(_ result: Result<Void, HTTPStreamError>) -> TurnError {
        switch result {
        case let .failure(.couldNotConnect(message)): return .upstreamUnreachable(message)
        case let .failure(.connectTimedOut(message)): return .connectTimeout(message)
        case let .failure(.timedOut(message)): return .upstreamTimeout(message)
        case let .failure(.transport(_, message)):
            // Reset or closed before any response: nothing was relayed, so a retry is safe.
            return TurnError(code: "upstream_error", message: message, retry: .allowed(afterMillis: nil))
        case .failure(.aborted), .success:
            return TurnError(code: "upstream_error", message: "the upstream closed the connection without a response",
                             retry: .allowed(afterMillis: nil))
        }
    }

    /// Delivers events in order until the terminal one; nothing once cancelled. The lock is not
    /// held while `onEvent` runs (it may take the turn's lock while another thread holding that
    /// lock calls `cancel()`), so a `cancel()` racing with a delivery already under way can still
    /// see that one event arrive; none starts after `cancel()` returns.
    private func emit(_ events: [ProviderEvent]) {
        for event in events {
            guard !terminated, !lock.withLock({ cancelled }) else { return }
            if event.isTerminal { terminated = true }
            if case .failed(let error) = event, !secrets.isEmpty {
                onEvent(.failed(error.redacting(secrets)))
            } else {
                onEvent(event)
            }
        }
    }
}
