import Dispatch
import GatewayCore
import GatewayRedis
import Synchronization

/// Presence shared by every node through Redis (the design is in `PresenceScript`): each join,
/// leave and typing is one script call that changes the session's hash and publishes the event;
/// every node subscribes to the presence channel of the sessions it has connections in and hands
/// the events to them. A node holds a lease it renews; sweeps on every node remove the users of a
/// node whose lease ran out.
///
/// Redis unreachable: presence degrades to what this node knows (its own connections' events are
/// still delivered to its connections), nothing fails; once Redis answers again the node
/// re-registers its connections (`sync`) and reads the rosters afresh.
///
/// Threads: methods from any thread; script completions run on the `RedisClient`'s thread,
/// channel events on the subscriber's, timers on `queue`. `state` holds everything that changes;
/// `submissions` orders script submissions (so a join and its leave reach Redis in order from
/// any threads) and is never taken from a completion (follow-ups go through `queue`). The sink is
/// called under `state`'s lock.
///
/// Order: every call is an EVALSHA on the one command connection, so Redis runs them in the
/// order they were submitted. A call is never re-sent: one refused with NOSCRIPT (Redis restarted
/// or flushed its scripts) counts as failed, like one sent while Redis was down, and the node
/// loads the script again and re-registers (`sync`). Re-sending it later could run it after calls
/// submitted after it: a join after its own leave, a ghost.
public final class RedisPresence: PresenceBackend {
    struct TabKey: Hashable, Sendable {
        let session: String
        let connection: ConnectionID
    }

    struct State: ~Copyable {
        var sink: PresenceSink?
        var started = false
        var stopped = false
        /// This node's tabs: the truth for its own connections, and what `sync` registers.
        var local = PresenceRoster()
        var views = PresenceViews()
        /// Joined, Redis not answered yet: they get nothing until their own roster. The ticket
        /// tells the answer to this join from one to an earlier join of the same tab.
        var pending: [TabKey: Int] = [:]
        var tickets = 0
        /// A command failed, so Redis may not hold what `local` says; `epoch` counts failures so
        /// that a sync clears only what it covered.
        var dirty = false
        var dirtyEpoch = 0
        var subscriber: RedisSubscriber?
        /// The script's SHA1 once Redis loaded it; nil again after a NOSCRIPT.
        var scriptSHA1: String?
        var loading = false
        /// Sessions whose channel Redis confirmed and whose roster was read after that (until the
        /// next reconnect): from then on every event reaches the node.
        var listening = Set<String>()

        mutating func markDirty() {
            dirty = true
            dirtyEpoch += 1
        }
    }

    public let nodeID: String
    let client: RedisClient
    let endpoint: RedisEndpoint
    let keys: PresenceKeys
    let settings: RedisPresenceSettings
    let state = Mutex(State())
    let submissions = Mutex(())
    let queue = DispatchQueue(label: "redis-presence")

    /// `client` is shared and stays the caller's (shut it down after `stop()`); the subscriber
    /// connection to `endpoint` is this backend's own.
    public init(nodeID: String, client: RedisClient, endpoint: RedisEndpoint, keys: ClusterKeys = ClusterKeys(),
                settings: RedisPresenceSettings = RedisPresenceSettings()) {
        self.nodeID = nodeID
        self.client = client
        self.endpoint = endpoint
        self.keys = PresenceKeys(keys)
        self.settings = settings
    }

    deinit { halt() }

    public func join(session: String, connection: ConnectionID, user: String, role: String) {
        let key = TabKey(session: session, connection: connection)
        submissions.withLock { _ in
            let joined: (ticket: Int, subscribe: RedisSubscriber?)? = state.withLock { state in
                guard state.started, !state.stopped else { return nil }
                let first = state.local.users(in: session).isEmpty
                _ = state.local.add(session: session, tab: tab(connection), user: user, role: role)
                state.tickets += 1
                state.pending[key] = state.tickets
                state.views.open(session)
                return (state.tickets, first ? state.subscriber : nil)
            }
            guard let joined else { return }
            joined.subscribe?.subscribe(channels: [keys.channel(session)])
            run("join", [RedisArgument(nodeID), RedisArgument(connection.rawValue), RedisArgument(user), RedisArgument(role),
                         RedisArgument(session), RedisArgument(settings.leaseMillis), RedisArgument(settings.keyTTLMillis)]) { reply in
                self.joinAnswered(key, ticket: joined.ticket, user: user, reply: reply)
            }
        }
    }

    public func leave(session: String, connection: ConnectionID) {
        submissions.withLock { _ in
            let left: (user: String, unsubscribe: RedisSubscriber?)? = state.withLock { state in
                guard let user = state.local.user(of: tab(connection), in: session) else { return nil }
                _ = state.local.remove(session: session, tab: tab(connection))
                state.pending[TabKey(session: session, connection: connection)] = nil
                guard state.local.users(in: session).isEmpty else { return (user, nil) }
                state.views.close(session)
                return (user, state.subscriber)
            }
            guard let left else { return }
            left.unsubscribe?.unsubscribe(channels: [keys.channel(session)])
            sendLeave(session: session, connection: connection, user: left.user)
        }
    }

    public func typing(session: String, connection: ConnectionID) {
        submissions.withLock { _ in
            guard let user = state.withLock({ $0.local.user(of: tab(connection), in: session) }) else { return }
            run("typing", [RedisArgument(nodeID), RedisArgument(connection.rawValue), RedisArgument(session)]) { reply in
                // Published: it comes back on the channel, in order with everyone else's.
                guard (reply?.published ?? 0) == 0 else { return }
                self.state.withLock { state in
                    state.markDirty()  // unreachable, or Redis lost the tab
                    self.deliver(state.views.typedLocally(session: session, user: user), session: session, in: state)
                }
            }
        }
    }

    /// Called with `submissions` held.
    func sendLeave(session: String, connection: ConnectionID, user: String) {
        run("leave", [RedisArgument(nodeID), RedisArgument(connection.rawValue), RedisArgument(session),
                      RedisArgument(settings.keyTTLMillis)]) { reply in
            self.state.withLock { state in
                if reply == nil { state.markDirty() }
                let updates = state.views.left(session: session, user: user, reply: reply, local: self.announced(session, in: state))
                self.deliver(updates, session: session, in: state)
            }
        }
    }

    private func joinAnswered(_ key: TabKey, ticket: Int, user: String, reply: PresenceReply?) {
        let leaseLost = state.withLock { state -> Bool in
            let leaseLost = reply?.leaseLost == true
            if reply == nil || leaseLost { state.markDirty() }
            // Not this join's tab any more (it left, maybe joined again): its own roster is not due.
            guard state.pending[key] == ticket else { return leaseLost }
            state.pending[key] = nil
            let local = announced(key.session, in: state)
            if let (others, own) = state.views.joined(session: key.session, user: user, reply: reply, local: local) {
                deliver(others, session: key.session, in: state, excluding: key.connection)
                state.sink?(PresenceDelivery(update: own, recipients: [key.connection]))
            }
            return leaseLost
        }
        if leaseLost { queue.async { self.renew() } }
    }

    func handle(_ event: RedisSubscriberEvent) {
        switch event {
        case .message(let message):
            guard let session = keys.session(ofChannel: message.channel), let change = PresenceMessage(message.payload) else { return }
            state.withLock { state in
                let updates = state.views.apply(change, session: session, local: announced(session, in: state))
                deliver(updates, session: session, in: state)
            }
        case .subscribed(.channel(let channel)):
            // Events published before Redis confirmed are missed: read the roster once now.
            guard let session = keys.session(ofChannel: channel) else { return }
            queue.async { self.refresh([session], thenListening: true) }
        case .unsubscribed(.channel(let channel)):
            guard let session = keys.session(ofChannel: channel) else { return }
            state.withLock { _ = $0.listening.remove(session) }
        case .stateChanged(.down):
            state.withLock { $0.listening = [] }
        case .resubscribed:
            queue.async { self.renew() }
        default:
            break
        }
    }

    /// To the session's connections on this node, except those still waiting for their own roster.
    func deliver(_ updates: [PresenceUpdate], session: String, in state: borrowing State, excluding: ConnectionID? = nil) {
        guard !updates.isEmpty, let sink = state.sink else { return }
        let recipients = state.local.connections(in: session, node: nodeID).filter {
            $0 != excluding && state.pending[TabKey(session: session, connection: $0)] == nil
        }
        guard !recipients.isEmpty else { return }
        for update in updates { sink(PresenceDelivery(update: update, recipients: recipients)) }
    }

    /// Whether the node hears every presence event of the session from now on: Redis confirmed
    /// the subscription and the roster was read since (for tests and diagnostics).
    func isListening(to session: String) -> Bool {
        state.withLock { $0.listening.contains(session) }
    }

    /// The users of the session's tabs on this node that were told they are present.
    func announced(_ session: String, in state: borrowing State) -> [PresenceMember] {
        var members: [String: String] = [:]
        for connection in state.local.connections(in: session, node: nodeID)
        where state.pending[TabKey(session: session, connection: connection)] == nil {
            guard let user = state.local.user(of: tab(connection), in: session),
                  let member = state.local.member(user, in: session) else { continue }
            members[user] = member.role
        }
        return members.map { PresenceMember(user: $0.key, role: $0.value) }
    }

    func tab(_ connection: ConnectionID) -> PresenceRoster.Tab {
        PresenceRoster.Tab(node: nodeID, connection: connection)
    }
}
