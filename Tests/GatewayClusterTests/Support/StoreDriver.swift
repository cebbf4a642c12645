import GatewayTestSupport
import Foundation
import GatewayCore
import RedisTestSupport
import XCTest

/// Drives any `SessionStore` the way the gateway does, and waits for what a shared store answers
/// later: completions (with a timeout), fan-outs handed to the sink, and frames a subscriber can
/// take. A memory store answers at once, so every wait returns at its first look.
final class StoreDriver: Sendable {
    struct Timeout: Error, CustomStringConvertible { let description: String }

    let store: any SessionStore
    let fanouts = Recorder<Fanout>()
    /// The stack depth inside the sink at each delivery.
    let sinkDepths = Recorder<Int>()
    static let wait: TimeInterval = 10
    static let usage = TokenUsage(inputTokens: 1, outputTokens: 1, estimated: true)

    init(_ store: any SessionStore) {
        self.store = store
        store.setDelivery { [fanouts, sinkDepths] in
            sinkDepths.append(Thread.callStackReturnAddresses.count)
            fanouts.append($0)
        }
    }

    private func answer<Value: Sendable>(_ what: String, _ start: (@escaping @Sendable (Value) -> Void) -> Void) throws -> Value {
        let answers = Recorder<Value>()
        start { answers.append($0) }
        guard answers.waitUntil(timeout: Self.wait, { !$0.isEmpty }) else { throw Timeout(description: "no answer to \(what)") }
        return answers.all[0]
    }

    func join(_ session: String, _ connection: ConnectionID, afterSeq: Int? = nil) throws -> Result<SessionState.JoinOutcome, SessionStoreError> {
        try answer("join") { store.join(session: session, connection: connection, afterSeq: afterSeq, completion: $0) }
    }

    /// A join that must succeed.
    func joined(_ session: String, _ connection: ConnectionID, afterSeq: Int? = nil,
                file: StaticString = #filePath, line: UInt = #line) throws -> SessionState.JoinOutcome {
        try join(session, connection, afterSeq: afterSeq).get()
    }

    func accept(_ session: String = "s", id: String, turn: String, text: String = "hi", author: String = "guest-1",
                historyLimit: Int = 40, queuedJob: [UInt8]? = nil, admit: @escaping @Sendable ([ChatMessage]) -> Bool = { _ in true })
        throws -> Result<SessionState.MessageOutcome, SessionStoreError> {
        try answer("message \(id)") {
            store.acceptMessage(session: session, id: id, author: author, text: text, turn: turn, historyLimit: historyLimit,
                                admit: { admit($0) ? TurnAdmission(model: "demo", queuedJob: queuedJob) : nil }, completion: $0)
        }
    }

    /// A message that must be accepted; returns its ack seq.
    @discardableResult
    func accepted(_ session: String = "s", id: String, turn: String, text: String = "hi") throws -> Int {
        let outcome = try accept(session, id: id, turn: turn, text: text).get()
        guard case .accepted(let ack) = outcome else { throw Timeout(description: "message \(id) not accepted: \(outcome)") }
        return ack
    }

    func delta(_ session: String = "s", turn: String, text: String) {
        store.appendDelta(session: session, turn: turn, text: text)
    }

    func end(_ session: String = "s", turn: String, finish: TurnFinish = .stop, replyText: String = "", error: TurnError? = nil) {
        store.endTurn(session: session, turn: turn, finish: finish, usage: Self.usage, upstreamFinish: nil, error: error,
                      replyText: replyText)
    }

    func active(_ session: String = "s") throws -> SessionState.ActiveTurn? {
        try answer("activeTurn") { store.activeTurn(session: session, completion: $0) }
    }

    /// What the subscriber can take now, without waiting.
    func drain(_ connection: ConnectionID) -> [DecodedFrame] { drain("s", connection) }

    func drain(_ session: String, _ connection: ConnectionID) -> [DecodedFrame] {
        var frames: [DecodedFrame] = []
        while let frame = store.nextFrame(session: session, connection: connection) { frames.append(DecodedFrame(frame)) }
        return frames
    }

    /// Takes frames until one covers `seq` (or is a snapshot at or past it).
    func frames(_ connection: ConnectionID, through seq: Int) throws -> [DecodedFrame] {
        try frames("s", connection, through: seq)
    }

    func frames(_ session: String, _ connection: ConnectionID, through seq: Int) throws -> [DecodedFrame] {
        try frames(session, connection, until: { ($0.seq ?? 0) >= seq }, what: "through seq \(seq)")
    }

    /// Takes frames until one satisfies `last`.
    func frames(_ session: String, _ connection: ConnectionID, until last: (DecodedFrame) -> Bool,
                what: String) throws -> [DecodedFrame] {
        var frames: [DecodedFrame] = []
        let deadline = Date().addingTimeInterval(Self.wait)
        while !(frames.last.map(last) ?? false) {
            if let frame = store.nextFrame(session: session, connection: connection) {
                frames.append(DecodedFrame(frame))
                continue
            }
            guard Date() < deadline else {
                throw Timeout(description: "no frame \(what) for \(connection); got \(frames.map(\.description))")
            }
            usleep(1_000)
        }
        return frames
    }

    /// Fan-outs recorded so far; pass to `fanouts(since:count:)` to wait for those of the next appends.
    var mark: Int { fanouts.all.count }

    /// Waits for `count` fan-outs after `mark` and merges them (a shared store hands one per event
    /// as it lands; the memory store one per call).
    func fanout(since mark: Int, count: Int) throws -> Fanout {
        guard fanouts.waitUntil(timeout: Self.wait, { $0.count >= mark + count }) else {
            throw Timeout(description: "expected \(count) fan-outs after \(mark), got \(fanouts.all.dropFirst(mark))")
        }
        var merged = Fanout()
        for fanout in fanouts.all[mark..<(mark + count)] {
            merged.wake += fanout.wake.filter { !merged.wake.contains($0) }
            merged.slowConsumers += fanout.slowConsumers.filter { !merged.slowConsumers.contains($0) }
        }
        return merged
    }
}
