import Dispatch
import GatewayCore
import GatewayWSClient
import Synchronization

/// One chat.v1 connection driven a turn at a time from the coordinating thread, for the latency
/// scenarios (ttft, stop): it says hello, joins its session, and reports the moments that matter
/// (joined, the turn's first delta, its end) as they arrive, each stamped with the wall-clock µs
/// of arrival on the client's service thread.
///
/// `@unchecked Sendable`: `awaitingFirstDelta` is touched only on the pool's service thread;
/// `events` is a Mutex and `arrived` a semaphore.
final class TurnProbe: WebSocketClientHandler, @unchecked Sendable {
    enum Event: Equatable {
        case joined
        case firstDelta(atMicroseconds: Int)
        case turnEnd(finish: String?, atMicroseconds: Int)
        case error(code: String)
        case closed
    }

    let session: String
    private let events = Mutex<[Event]>([])
    private let arrived = DispatchSemaphore(value: 0)
    private var awaitingFirstDelta = false

    init(session: String) { self.session = session }

    // MARK: - Coordinating thread

    /// The next event, or an error naming what was awaited.
    func next(within seconds: Double, awaiting what: String) throws -> Event {
        guard arrived.wait(timeout: .now() + seconds) == .success else {
            throw BenchError("no \(what) within \(seconds) s")
        }
        return events.withLock { $0.removeFirst() }
    }

    /// Waits for the event `matches` accepts; a close or an error frame before it fails.
    func await(_ what: String, within seconds: Double, _ matches: (Event) -> Bool) throws -> Event {
        let event = try next(within: seconds, awaiting: what)
        guard matches(event) else { throw BenchError("waiting for \(what), got \(event)") }
        return event
    }

    func message(id: String, text: String) -> [UInt8] {
        var json = JSONWriter(capacity: 128)
        json.beginObject()
        json.field("type", "message")
        json.field("session", session)
        json.field("id", id)
        json.field("text", text)
        json.endObject()
        return json.bytes
    }

    var stop: [UInt8] {
        var json = JSONWriter(capacity: 64)
        json.beginObject()
        json.field("type", "stop")
        json.field("session", session)
        json.endObject()
        return json.bytes
    }

    // MARK: - Service thread

    func clientOpened(_ connection: Int, outbox: inout ClientOutbox) {
        outbox.send(Array(#"{"type":"hello","client":"chat-bench"}"#.utf8))
    }

    func clientReceived(_ connection: Int, text: UnsafeRawBufferPointer, outbox: inout ClientOutbox) {
        let now = WallClock.microseconds()
        guard let fields = ChatFrameScanner.scan(text) else {
            report(.error(code: "unparsable_frame"))
            return
        }
        switch fields.kind {
        case .welcome:
            var json = JSONWriter(capacity: 64)
            json.beginObject()
            json.field("type", "join")
            json.field("session", session)
            json.endObject()
            outbox.send(json.bytes)
        case .joined:
            report(.joined)
        case .turnStart:
            awaitingFirstDelta = true
        case .turnDelta where awaitingFirstDelta:
            awaitingFirstDelta = false
            report(.firstDelta(atMicroseconds: now))
        case .turnEnd:
            awaitingFirstDelta = false
            report(.turnEnd(finish: fields.finish, atMicroseconds: now))
        case .error:
            report(.error(code: fields.errorCode ?? "unknown"))
        default:
            break
        }
    }

    func clientClosed(_ connection: Int, reason: ClientCloseReason) { report(.closed) }

    private func report(_ event: Event) {
        events.withLock { $0.append(event) }
        arrived.signal()
    }
}
