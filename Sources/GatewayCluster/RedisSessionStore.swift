import Dispatch
import Foundation
import GatewayCore
import GatewayRedis
import Synchronization

/// The `SessionStore` of the multi-node mode: Redis holds every session's log (a stream), its
/// transcript, active turn and reply so far (`ClusterKeys`); each append is one Lua script that
/// numbers the event, stores it and publishes its frame (`SessionLogScripts`). A node mirrors only
/// the sessions it has local subscribers for (`SessionMirror`), from their pub/sub channels, so a
/// token costs one EVALSHA on the node that appends it and one pub/sub message on each node that
/// mirrors its session. `nextFrame`, merged deltas and the outbound cap work on the mirror exactly
/// as in `MemorySessionStore`.
///
/// Threads: every method may be called from any thread and returns at once.
/// - `join` completes inline when the session's mirror can answer, otherwise on the Redis client's
///   command thread once the mirror is read (or fails with `.unavailable`).
/// - `acceptMessage` asks `admit` and completes on the command thread; `activeTurn` completes there too.
/// - The delivery sink runs on the subscriber's thread (events from pub/sub) or the command thread
///   (events a read brought in).
/// - Appends (`appendDelta`, `endTurn`) are pipelined from the caller's thread; when Redis cannot
///   take them they are dropped and logged (the turn queue's lease reaper ends such a turn later).
///
/// Locks: `table` (the mirrors and the subscription ledger) and one per mirror. A mirror's lock is
/// taken inside the table's, never the other way round; the subscriber is told to (un)subscribe
/// under the table's lock, so its changes keep the order of the table's. Nothing calls out (sink,
/// completions, Redis) under either lock.
public final class RedisSessionStore: SessionStore {
    /// The first four as in `MemorySessionStore.Settings` (`sessions.*` and the outbound cap);
    /// `idleTTLMillis` becomes the keys' TTL.
    public struct Settings: Sendable {
        public var maxEvents: Int
        public var maxTranscriptEntries: Int
        public var idleTTLMillis: Int
        public var outboundCapBytes: Int
        /// Turns the cluster work queue (`ClusterKeys.turnQueue`) may hold before a message whose
        /// turn would join them is refused as `overloaded`, with nothing appended.
        public var turnQueueLimit: Int
        /// How long a first join on this node waits for Redis to confirm the session's subscription.
        public var subscribeTimeoutMillis: Int

        public init(maxEvents: Int, maxTranscriptEntries: Int, idleTTLMillis: Int, outboundCapBytes: Int,
                    turnQueueLimit: Int = 10_000, subscribeTimeoutMillis: Int = 5_000) {
            self.maxEvents = maxEvents
            self.maxTranscriptEntries = maxTranscriptEntries
            self.idleTTLMillis = idleTTLMillis
            self.outboundCapBytes = outboundCapBytes
            self.turnQueueLimit = turnQueueLimit
            self.subscribeTimeoutMillis = subscribeTimeoutMillis
        }
    }

    final class MirrorBox: Sendable {
        let mirror: Mutex<SessionMirror>
        init(_ mirror: SessionMirror) { self.mirror = Mutex(mirror) }
    }

    struct Table {
        var mirrors: [String: MirrorBox] = [:]
        /// Per channel, UNSUBSCRIBEs Redis has not confirmed yet: a `.subscribed` for the channel
        /// before those confirmations answers an older SUBSCRIBE, not the mirror now waiting.
        var unconfirmedUnsubscribes: [String: Int] = [:]
    }

    let client: RedisClient
    let keys: ClusterKeys
    let settings: Settings
    let table = Mutex(Table())
    let log: @Sendable (String) -> Void
    let subscriber: RedisSubscriber
    private let pipeline: AppendPipeline
    /// Boxed, as in `MemorySessionStore`: a closure kept directly in a Mutex is reabstracted on every
    /// `withLock`, and the thunks pile up with every delivery.
    private let delivery = Mutex<DeliverySink?>(nil)
    private let writer: String
    /// Per (session, turn) appended by this node: the count of its deltas, which the delta script
    /// uses to drop one that arrives after a later one (see `AppendPipeline`).
    private let deltaCounts = Mutex<[TurnRef: Int]>([:])
    private let droppedAppends: ThrottledReport

    private struct TurnRef: Hashable {
        let session: String
        let turn: String
    }

    private static let deltaScript = 0
    private static let endScript = 1

    /// `client` carries the commands and is not shut down here; the store makes its own
    /// `RedisSubscriber` to `client.endpoint` for the session channels and shuts it down in
    /// `shutdown()`. `log` gets warnings (Redis refusing or failing appends, throttled), from any thread.
    public init(client: RedisClient, keys: ClusterKeys = ClusterKeys(), settings: Settings,
                subscriberOptions: RedisSubscriberOptions = RedisSubscriberOptions(threadName: "redis-sessions"),
                log: @escaping @Sendable (String) -> Void = RedisSessionStore.logToStandardError) {
        self.client = client
        self.keys = keys
        self.settings = settings
        self.log = log
        pipeline = AppendPipeline(client: client, scripts: [SessionLogScripts.appendDelta, SessionLogScripts.endTurn])
        writer = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        droppedAppends = ThrottledReport(everyMillis: 5_000, log: log)
        let events = SubscriberEvents()
        subscriber = RedisSubscriber(endpoint: client.endpoint, options: subscriberOptions) { events.forward($0) }
        events.attach(self)
        pipeline.preload()
    }

    deinit { subscriber.shutdown() }

    /// Stops listening to the session channels: mirrors stop receiving, and joins still waiting for
    /// their subscription fail with `.unavailable`. Idempotent.
    public func shutdown() {
        subscriber.shutdown()
        let boxes = table.withLock { table -> [MirrorBox] in
            defer { table.mirrors = [:] }
            return Array(table.mirrors.values)
        }
        for box in boxes {
            let effects = box.mirror.withLock { mirror -> SessionMirror.Effects in
                mirror.retired = true
                return mirror.abandon(.unavailable("the session store is shutting down"))
            }
            for (join, result) in effects.completions { join.completion(result) }
        }
    }

    @Sendable public static func logToStandardError(_ line: String) {
        FileHandle.standardError.write(Data("chat-gateway: redis session store: \(line)\n".utf8))
    }

    public var sessionCount: Int { table.withLock { $0.mirrors.count } }

    /// Where the session's mirror is, for tests' failure messages.
    func mirrorSummary(_ session: String) -> String {
        table.withLock { $0.mirrors[session] }?.mirror.withLock { $0.summary } ?? "no mirror"
    }

    /// Whether the append scripts are loaded (appends submitted before wait for the load).
    var appendScriptsLoaded: Bool { pipeline.isLoaded }

    public func setDelivery(_ delivery: @escaping @Sendable (Fanout) -> Void) {
        let sink = DeliverySink(delivery)
        self.delivery.withLock { $0 = sink }
    }

    // MARK: - Local subscribers

    public func join(session: String, connection: ConnectionID, afterSeq: Int?,
                     completion: @escaping @Sendable (Result<SessionState.JoinOutcome, SessionStoreError>) -> Void) {
        // A session this node does not mirror needs pub/sub and a read: with the link down (between
        // reconnect attempts) say so now rather than after the subscription timeout.
        if case .down(let error) = subscriber.state, table.withLock({ $0.mirrors[session] == nil }) {
            return completion(.failure(.unavailable("Redis pub/sub is down (\(error))")))
        }
        let pending = SessionMirror.PendingJoin(connection: connection, afterSeq: afterSeq, completion: completion)
        while true {
            let box = mirrorBox(session)
            let effects = box.mirror.withLock { mirror -> SessionMirror.Effects? in
                mirror.retired ? nil : mirror.join(pending, now: WallClock.millis())
            }
            if let effects { return perform(effects, session: session, box: box) }
        }
    }

    public func leave(session: String, connection: ConnectionID) -> Int? {
        guard let box = table.withLock({ $0.mirrors[session] }) else { return nil }
        let remaining = box.mirror.withLock { $0.leave(connection, now: WallClock.millis()) }
        if remaining == 0 { dropIfUnused(session: session, box: box) }
        return remaining
    }

    public func nextFrame(session: String, connection: ConnectionID) -> [UInt8]? {
        table.withLock { $0.mirrors[session] }?.mirror.withLock { $0.nextFrame(for: connection) }
    }

    /// Events reach a mirror through pub/sub, and every one applied wakes its subscribers (as does a
    /// reseed), so "caught up with the mirror" is as good an answer as the memory store's.
    public func nextFrameAndCaughtUp(session: String, connection: ConnectionID) -> (frame: [UInt8], caughtUp: Bool)? {
        table.withLock { $0.mirrors[session] }?.mirror.withLock { $0.nextFrameAndCaughtUp(for: connection) } ?? nil
    }

    /// Redis expires idle sessions by itself (every key has the idle TTL, refreshed by each write),
    /// so nothing is dropped here and this returns 0. What it does instead: refresh the TTL of the
    /// sessions this node mirrors, because a session somebody is subscribed to must not expire
    /// (as in memory) however long it stays quiet. Called by the gateway's sweep, far more often
    /// than any sensible TTL.
    public func expireIdleSessions() -> Int {
        let sessions = table.withLock { Array($0.mirrors.keys) }
        for chunk in stride(from: 0, to: sessions.count, by: 256).map({ sessions[$0..<min($0 + 256, sessions.count)] }) {
            let arguments = SessionLogScripts.common(keys, chunk.first!, settings) + chunk.dropFirst().map { RedisArgument($0) }
            client.evaluate(SessionLogScripts.touch, arguments: arguments) { [log] result in
                if case .failure(let error) = result { log("could not refresh the TTL of mirrored sessions: \(error)") }
            }
        }
        return 0
    }

    // MARK: - Appends

    public func acceptMessage(session: String, id: String, author: String, text: String, turn: String, historyLimit: Int,
                              admit: @escaping @Sendable ([ChatMessage]) -> TurnAdmission?,
                              completion: @escaping @Sendable (Result<SessionState.MessageOutcome, SessionStoreError>) -> Void) {
        let common = SessionLogScripts.common(keys, session, settings)
        client.evaluate(SessionLogScripts.checkMessage, arguments: common + [RedisArgument(id), RedisArgument(historyLimit)]) { [self] result in
            let history: [ChatMessage]
            do {
                switch try SessionScriptReplies.check(try result.get()) {
                case .duplicate(let ack): return completion(.success(.duplicate(ackSeq: ack)))
                case .busy: return completion(.success(.busy))
                case .history(let messages): history = messages
                }
            } catch {
                return completion(.failure(.unavailable(String(describing: error))))
            }
            guard let admission = admit(history) else { return completion(.success(.overloaded)) }
            let message = SessionEventFrameTemplate(session: session, body: .message(id: id, author: author, text: text))
            let start = SessionEventFrameTemplate(session: session, body: .turnStart(turn: turn, model: admission.model,
                                                                                      route: admission.route, cached: admission.cached))
            let arguments: [RedisArgument] = common + [
                RedisArgument(id), RedisArgument(author), RedisArgument(text), RedisArgument(turn), RedisArgument(admission.model),
                .bytes(message.head), .bytes(message.middle), .bytes(start.head), .bytes(start.middle),
                RedisArgument(settings.turnQueueLimit), .bytes(admission.queuedJob ?? []),
                RedisArgument(admission.queuedJob == nil ? "0" : "1"),
            ]
            client.evaluate(SessionLogScripts.acceptMessage, arguments: arguments) { result in
                do {
                    completion(.success(try SessionScriptReplies.accept(try result.get())))
                } catch {
                    completion(.failure(.unavailable(String(describing: error))))
                }
            }
        }
    }

    public func appendDelta(session: String, turn: String, text: String) {
        guard !text.isEmpty else { return }
        let ref = TurnRef(session: session, turn: turn)
        let n = deltaCounts.withLock { counts -> Int in
            counts[ref, default: 0] += 1
            return counts[ref]!
        }
        let template = SessionEventFrameTemplate(session: session, body: .turnDelta(turn: turn, text: text))
        let arguments = SessionLogScripts.common(keys, session, settings) + [
            RedisArgument(turn), RedisArgument(text), RedisArgument(writer), RedisArgument(n),
            .bytes(template.head), .bytes(template.middle),
        ]
        pipeline.submit(script: Self.deltaScript, arguments: arguments) { [self] result in
            switch result {
            case .success(.integer(0)):
                deltaCounts.withLock { _ = $0.removeValue(forKey: ref) }  // the turn is over
            case .success:
                break
            case .failure(let error):
                droppedAppends.note("a delta of turn \(turn) in session \(session) was dropped: \(error)")
            }
        }
    }

    public func endTurn(session: String, turn: String, finish: TurnFinish, usage: TokenUsage, upstreamFinish: String?,
                        error: TurnError?, replyText: String) {
        deltaCounts.withLock { _ = $0.removeValue(forKey: TurnRef(session: session, turn: turn)) }
        let template = SessionEventFrameTemplate(session: session, body: .turnEnd(turn: turn, finish: finish, usage: usage,
                                                                                   upstreamFinish: upstreamFinish, error: error))
        let arguments = SessionLogScripts.common(keys, session, settings) + [
            RedisArgument(turn), RedisArgument(finish.rawValue), .bytes(template.head), .bytes(template.middle),
            RedisArgument(replyText),
        ]
        pipeline.submit(script: Self.endScript, arguments: arguments) { [droppedAppends] result in
            if case .failure(let error) = result {
                droppedAppends.note("the end of turn \(turn) in session \(session) was dropped: \(error)")
            }
        }
    }

    public func activeTurn(session: String, completion: @escaping @Sendable (SessionState.ActiveTurn?) -> Void) {
        client.send(["HMGET", RedisArgument(keys.sessionMeta(session)), "turn", "msg", "model"]) { [log] result in
            switch result {
            case .success(let reply):
                guard let fields = reply.array, fields.count == 3, let turn = fields[0].string else { return completion(nil) }
                completion(SessionState.ActiveTurn(turn: turn, messageID: fields[1].string ?? "", model: fields[2].string ?? ""))
            case .failure(let error):
                log("could not read the active turn of session \(session): \(error)")
                completion(nil)
            }
        }
    }

    // MARK: - Carrying out what a mirror asks for

    func perform(_ effects: SessionMirror.Effects, session: String, box: MirrorBox) {
        for (join, result) in effects.completions { join.completion(result) }
        if !effects.fanout.isEmpty, let sink = delivery.withLock({ $0 }) { sink.deliver(effects.fanout) }
        if let read = effects.read { startRead(read, session: session, box: box) }
    }
}

private final class DeliverySink: Sendable {
    let deliver: @Sendable (Fanout) -> Void
    init(_ deliver: @escaping @Sendable (Fanout) -> Void) { self.deliver = deliver }
}

/// Hands subscriber events to the store, which cannot be captured before its init completes; events
/// before `attach` (only connection states then) are dropped. `store` is guarded by its Mutex.
private final class SubscriberEvents: Sendable {
    private struct Weak { weak var store: RedisSessionStore? }
    private let target = Mutex(Weak())

    func attach(_ store: RedisSessionStore) { target.withLock { $0.store = store } }

    func forward(_ event: RedisSubscriberEvent) {
        target.withLock { $0.store }?.handle(event)
    }
}
