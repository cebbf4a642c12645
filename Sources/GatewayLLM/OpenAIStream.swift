import Foundation
import GatewayCore

/// One `/chat/completions` stream: the HTTP handler (curl thread) and the `ProviderStream` handed to
/// the turn (cancelled from any thread).
///
/// @unchecked Sendable: `lock` guards `cancelled` and `transferID`; `phase`, `parser`, `decoder`,
/// `errorBody` and `terminated` are touched only by HTTPStreamHandler callbacks, i.e. on the curl thread.
final class OpenAIStream: ProviderStream, HTTPStreamHandler, @unchecked Sendable {
    /// Error bodies are only quoted (300 characters), so keeping more is pointless.
    private static let maxErrorBodyBytes = 16 * 1024

    private enum Phase {
        case awaitingHead
        case streaming
        /// Non-2xx: collect the body for the error message.
        case httpError(status: Int, retryAfter: String?)
        /// 2xx but JSON instead of an event stream: a server that ignored `stream` or answered an error.
        case unexpectedJSON
    }

    private let client: HTTPStreamClient
    private let onEvent: @Sendable (ProviderEvent) -> Void

    private let lock = NSLock()
    private var cancelled = false
    private var transferID: HTTPTransferID?

    private var phase = Phase.awaitingHead
    private var parser = SSEParser()
    private var decoder: OpenAIStreamDecoder
    private var errorBody: [UInt8] = []
    private var terminated = false

    init(client: HTTPStreamClient, requestMessages: [ChatMessage], onEvent: @escaping @Sendable (ProviderEvent) -> Void) {
        self.client = client
        self.onEvent = onEvent
        self.decoder = OpenAIStreamDecoder(requestMessages: requestMessages)
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
            phase = .httpError(status: head.status, retryAfter: head.value(forHeader: "Retry-After"))
            return
        }
        let contentType = head.value(forHeader: "Content-Type")?.lowercased() ?? ""
        phase = contentType.hasPrefix("application/json") ? .unexpectedJSON : .streaming
    }

    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) {
        switch phase {
        case .streaming:
            parser.feed(bytes) { event in emit(decoder.decode(event.data)) }
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
        case let .httpError(status, retryAfter):
            emit([.failed(OpenAIRequestBuilder.httpError(status: status, body: errorBody, retryAfter: retryAfter))])
        case .unexpectedJSON:
            let detail = OpenAIRequestBuilder.errorDetail(body: errorBody)
            emit([.failed(.upstreamError("expected an event stream, got JSON: \(detail)"))])
        case .awaitingHead:
            emit([.failed(Self.errorBeforeResponse(result))])
        }
    }

    private func finishStreaming(_ result: Result<Void, HTTPStreamError>) {
        // An event the body end completed (e.g. `data: [DONE]` without its blank line).
        parser.finish { event in emit(decoder.decode(event.data, atEndOfBody: true)) }
        switch result {
        case .success:
            emit(decoder.finish())
        case let .failure(.timedOut(message)):
            emit(decoder.finish(failure: .upstreamTimeout(message)))
        case let .failure(.couldNotConnect(message)), let .failure(.transport(_, message)):
            emit(decoder.finish(failure: TurnError(code: TurnError.upstreamTruncated.code,
                                                   message: "\(TurnError.upstreamTruncated.message) (\(message))")))
        case .failure(.aborted):
            break  // handled by the caller
        }
    }

    private static func errorBeforeResponse(_ result: Result<Void, HTTPStreamError>) -> TurnError {
        switch result {
        case let .failure(.couldNotConnect(message)): return .upstreamUnreachable(message)
        case let .failure(.timedOut(message)): return .upstreamTimeout(message)
        case let .failure(.transport(_, message)): return .upstreamError(message)
        case .failure(.aborted), .success: return .upstreamError("the upstream closed the connection without a response")
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
            onEvent(event)
        }
    }
}
