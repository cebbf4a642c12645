import Dispatch
import GatewayCore
import GatewayRedis
import Synchronization

/// The shared work queue on Redis Streams (`ClusterKeys.turnQueue`, consumer group `workers`).
/// The session store's accept script puts a turn on it in the same step as its `turn.start`; here
/// a node claims turns while it has free worker slots, renews the leases of the turns it runs,
/// reaps leases that ran out (on every node; the script makes each reap happen once) and relays
/// stops to the owning node over its pub/sub channel.
///
/// Threads: reads block (XREADGROUP BLOCK) on a connection of their own, `reader`; everything
/// else goes through the shared `commands` client. Completions run on those clients' threads, the
/// timers on a utility queue, node-channel messages on `subscriber`'s thread; shared state is
/// behind `state`'s lock. Handlers are called with no lock held.
public final class RedisTurnQueue: TurnQueue {
    public struct Settings: Sendable {
        public var keys: ClusterKeys
        public var nodeID: String
        public var leaseMillis: Int
        /// How long one XREADGROUP waits for work; below the reader's command timeout.
        public var blockMillis = 1000
        public var reapIntervalMillis = 1000
        public var reapBatch = 100

        public init(keys: ClusterKeys, nodeID: String, leaseMillis: Int) {
            self.keys = keys
            self.nodeID = nodeID
            self.leaseMillis = leaseMillis
        }
    }

    private struct State {
        var handlers: TurnQueueHandlers?
        var owned: Set<String> = []
        /// A read (or the claims of its entries) is under way; nil when parked for lack of slots.
        var reading = false
        var stopped = false
    }

    private let settings: Settings
    private let commands: RedisClient
    private let reader: RedisClient
    private let subscriber: RedisSubscriber
    private let state = Mutex(State())
    private let timers = DispatchQueue(label: "chat-gateway.turn-queue", qos: .utility)
    private let consumer: String

    /// `commands` is shared with the rest of the node; the queue makes its own reader and subscriber
    /// connections to `endpoint`.
    public init(commands: RedisClient, endpoint: RedisEndpoint, settings: Settings,
                readerOptions: RedisClientOptions = RedisClientOptions(commandTimeout: .seconds(5), threadName: "redis-queue-reader"),
                subscriberOptions: RedisSubscriberOptions = RedisSubscriberOptions(threadName: "redis-queue-control")) {
        self.settings = settings
        self.commands = commands
        self.consumer = settings.nodeID
        reader = RedisClient(endpoint: endpoint, options: readerOptions)
        let relay = StopRelay()
        subscriber = RedisSubscriber(endpoint: endpoint, options: subscriberOptions) { event in relay.handle(event) }
        relay.queue = self
    }

    public func start(_ handlers: TurnQueueHandlers) {
        state.withLock { $0.handlers = handlers }
        subscriber.subscribe(channels: [settings.keys.nodeChannel(settings.nodeID)])
        scheduleRenewal()
        scheduleReap()
        readIfRoom()
    }

    public func capacityChanged() { readIfRoom() }

    public func released(turn: String) {
        _ = state.withLock { $0.owned.remove(turn) }
    }

    public func stop(session: String, completion: @escaping @Sendable (TurnStopOutcome) -> Void) {
        commands.evaluate(TurnQueueScripts.stop, arguments: [RedisArgument(settings.keys.prefix), RedisArgument(session)]) { result in
            switch result {
            case .failure(let error):
                completion(.failed("\(error)"))
            case .success(let reply):
                let parts = reply.array?.compactMap(\.string) ?? []
                switch parts.first {
                case "relayed" where parts.count == 3: completion(.relayed(turn: parts[1], owner: parts[2]))
                case "unclaimed" where parts.count == 2: completion(.unclaimed(turn: parts[1]))
                default: completion(.noActiveTurn)
                }
            }
        }
    }

    public func shutdown() {
        state.withLock { $0.stopped = true }
        reader.shutdown()
        subscriber.shutdown()
    }

    /// Ops on the node channel: `stop <turn>`.
    fileprivate func controlMessage(_ text: String) {
        guard text.hasPrefix("stop ") else { return }
        let turn = String(text.dropFirst(5))
        handlers()?.stopRequested(turn)
    }

    private func handlers() -> TurnQueueHandlers? { state.withLock { $0.stopped ? nil : $0.handlers } }

    // MARK: - Claiming

    private func readIfRoom() {
        let slots: Int? = state.withLock { state in
            guard !state.stopped, !state.reading, let handlers = state.handlers else { return nil }
            let free = handlers.freeSlots()
            guard free > 0 else { return nil }
            state.reading = true
            return free
        }
        guard let slots else { return }
        let keys = settings.keys
        reader.send(["XREADGROUP", "GROUP", RedisArgument(ClusterKeys.workerGroup), RedisArgument(consumer),
                     "COUNT", RedisArgument(slots), "BLOCK", RedisArgument(settings.blockMillis),
                     "STREAMS", RedisArgument(keys.turnQueue), ">"]) { [self] result in
            switch result {
            case .success(let reply):
                claim(Self.entries(of: reply))
            case .failure(let error):
                if error.serverErrorCode == "NOGROUP" {
                    createGroup { self.readAgain(afterMillis: 0) }
                } else {
                    readAgain(afterMillis: 500)  // Redis down or slow: try again shortly
                }
            }
        }
    }

    private func readAgain(afterMillis millis: Int) {
        state.withLock { $0.reading = false }
        if millis == 0 { return readIfRoom() }
        timers.asyncAfter(deadline: .now() + .milliseconds(millis)) { [weak self] in self?.readIfRoom() }
    }

    private func createGroup(then next: @escaping @Sendable () -> Void) {
        commands.send(["XGROUP", "CREATE", RedisArgument(settings.keys.turnQueue), RedisArgument(ClusterKeys.workerGroup),
                       "0", "MKSTREAM"]) { _ in next() }  // BUSYGROUP (another node was first) is fine
    }

    /// Claims each entry in turn, then reads again: the next read asks for no more than the slots
    /// left after these claims.
    private func claim(_ entries: [(id: String, turn: String, session: String)]) {
        guard let entry = entries.first else { return readAgain(afterMillis: 0) }
        let rest = Array(entries.dropFirst())
        let keys = settings.keys
        commands.evaluate(TurnQueueScripts.claim, arguments: [
            RedisArgument(keys.prefix), RedisArgument(keys.turnQueue), RedisArgument(ClusterKeys.workerGroup),
            RedisArgument(entry.id), RedisArgument(entry.turn), RedisArgument(entry.session),
            RedisArgument(settings.nodeID), RedisArgument(settings.leaseMillis),
        ]) { [self] result in
            if case .success(let reply) = result, let parts = reply.array, parts.count == 2, let job = parts[0].bytes {
                let handlers: TurnQueueHandlers? = state.withLock { state in
                    state.owned.insert(entry.turn)
                    return state.stopped ? nil : state.handlers
                }
                handlers?.claimed(job, parts[1].string == "1")
            }
            claim(rest)
        }
    }

    /// XREADGROUP's reply: [[stream, [[id, [field, value, ...]], ...]]], or null when nothing came.
    static func entries(of reply: RedisValue) -> [(id: String, turn: String, session: String)] {
        guard let streams = reply.array else { return [] }
        var result: [(String, String, String)] = []
        for stream in streams {
            guard let pair = stream.array, pair.count == 2, let items = pair[1].array else { continue }
            for item in items {
                guard let entry = item.array, entry.count == 2, let id = entry[0].string, let fields = entry[1].array else { continue }
                var values: [String: String] = [:]
                var index = 0
                while index + 1 < fields.count {
                    if let name = fields[index].string, let value = fields[index + 1].string { values[name] = value }
                    index += 2
                }
                if let turn = values["turn"], let session = values["session"] { result.append((id, turn, session)) }
            }
        }
        return result
    }

    // MARK: - Leases

    private func scheduleRenewal() {
        timers.asyncAfter(deadline: .now() + .milliseconds(max(100, settings.leaseMillis / 3))) { [weak self] in
            guard let self, !state.withLock({ $0.stopped }) else { return }
            renew()
            scheduleRenewal()
        }
    }

    private func renew() {
        let owned = state.withLock { Array($0.owned) }
        guard !owned.isEmpty else { return }
        commands.evaluate(TurnQueueScripts.renew, arguments: [
            RedisArgument(settings.keys.prefix), RedisArgument(settings.nodeID), RedisArgument(settings.leaseMillis),
        ] + owned.map { RedisArgument($0) }) { [self] result in
            guard case .success(let reply) = result else { return }  // Redis down: the next renewal tries again
            let lists = reply.array ?? []
            let gone = lists.first?.array?.compactMap(\.string) ?? []
            let taken = lists.dropFirst().first?.array?.compactMap(\.string) ?? []
            guard !gone.isEmpty || !taken.isEmpty, let handlers = handlers() else { return }
            state.withLock { state in (gone + taken).forEach { state.owned.remove($0) } }
            gone.forEach { handlers.stopRequested($0) }
            taken.forEach { handlers.leaseLost($0) }
        }
    }

    private func scheduleReap() {
        timers.asyncAfter(deadline: .now() + .milliseconds(settings.reapIntervalMillis)) { [weak self] in
            guard let self, !state.withLock({ $0.stopped }) else { return }
            reap()
            scheduleReap()
        }
    }

    private func reap() {
        let keys = settings.keys
        commands.evaluate(TurnQueueScripts.reap, arguments: [
            RedisArgument(keys.prefix), RedisArgument(keys.turnQueue), RedisArgument(ClusterKeys.workerGroup),
            RedisArgument(settings.leaseMillis), RedisArgument(settings.reapBatch),
        ]) { [self] result in
            guard case .success(let reply) = result, let handlers = handlers() else { return }
            let pairs = reply.array?.compactMap(\.string) ?? []
            var index = 0
            while index + 1 < pairs.count {
                handlers.lost(pairs[index], pairs[index + 1])
                index += 2
            }
            // Someone freed capacity may never call back if the queue was empty when it looked.
            readIfRoom()
        }
    }
}

/// Routes node-channel messages to the queue; set right after the subscriber is made.
private final class StopRelay: @unchecked Sendable {
    // Written once in RedisTurnQueue.init before `start` subscribes; read on the subscriber thread after.
    weak var queue: RedisTurnQueue?

    func handle(_ event: RedisSubscriberEvent) {
        if case .message(let message) = event { queue?.controlMessage(message.text) }
    }
}
