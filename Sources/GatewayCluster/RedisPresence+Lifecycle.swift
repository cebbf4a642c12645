import Dispatch
import GatewayCore
import GatewayRedis

/// Start, the lease and the sweeps, re-registration, and stop.
extension RedisPresence {
    public func start(delivering sink: @escaping PresenceSink) {
        let subscriber = RedisSubscriber(endpoint: endpoint, options: settings.subscriber) { [weak self] event in
            self?.handle(event)
        }
        state.withLock { state in
            state.sink = sink
            state.started = true
            state.subscriber = subscriber
        }
        // Loaded before the first join, so that joins are never refused for want of it while Redis
        // is up. Once loaded, `sync` takes the lease and clears what a previous process with this
        // node id left behind. Redis down: the renewals retry the load.
        let loaded = DispatchSemaphore(value: 0)
        load { _ in loaded.signal() }
        _ = loaded.wait(timeout: .now() + .milliseconds(settings.startTimeoutMillis))
        every(settings.renewIntervalMillis) { $0.renew() }
        every(settings.sweepIntervalMillis) { $0.sweep() }
    }

    public func stop() {
        let (subscriber, wasRunning) = state.withLock { state in
            let taken = (state.subscriber, state.started && !state.stopped)
            state.stopped = true
            state.sink = nil
            state.local = PresenceRoster()
            state.views = PresenceViews()
            state.pending = [:]
            state.subscriber = nil
            return taken
        }
        if wasRunning {
            let done = DispatchSemaphore(value: 0)
            submissions.withLock { _ in
                run("sync", [RedisArgument(nodeID), RedisArgument(settings.leaseMillis), RedisArgument(settings.keyTTLMillis), "1"]) { _ in
                    done.signal()
                }
            }
            _ = done.wait(timeout: .now() + .milliseconds(settings.stopTimeoutMillis))
        }
        subscriber?.shutdown()
    }

    /// Stops without telling Redis anything, as a crash would (the lease runs out and others sweep).
    func halt() {
        let subscriber = state.withLock { state in
            state.stopped = true
            state.sink = nil
            defer { state.subscriber = nil }
            return state.subscriber
        }
        subscriber?.shutdown()
    }

    func renew() {
        guard state.withLock({ $0.scriptSHA1 != nil }) else { return load() }
        run("renew", [RedisArgument(nodeID), RedisArgument(settings.leaseMillis), RedisArgument(settings.keyTTLMillis)]) { reply in
            guard let reply else { return }
            let behind = self.state.withLock { state in
                if reply.leaseLost { state.markDirty() }  // until a sync succeeds
                return state.dirty && !state.stopped
            }
            if behind { self.queue.async { self.sync() } }
        }
    }

    func sweep() {
        run("sweep", [RedisArgument(settings.keyTTLMillis)]) { _ in }
    }

    /// Sets this node's tabs in Redis to exactly `local`, then reads every roster afresh.
    func sync() {
        submissions.withLock { _ in
            guard let (entries, epoch) = state.withLock({ state -> ([PresenceRoster.Entry], Int)? in
                state.stopped ? nil : (state.local.entries(of: nodeID), state.dirtyEpoch)
            }) else { return }
            var arguments = [RedisArgument(nodeID), RedisArgument(settings.leaseMillis), RedisArgument(settings.keyTTLMillis), "0"]
            arguments.reserveCapacity(arguments.count + entries.count * 4)
            for entry in entries {
                arguments += [RedisArgument(entry.session), RedisArgument(entry.connection.rawValue),
                              RedisArgument(entry.user), RedisArgument(entry.role)]
            }
            run("sync", arguments) { reply in
                guard reply != nil else { return }
                let sessions = self.state.withLock { state in
                    if state.dirtyEpoch == epoch { state.dirty = false }
                    return state.views.sessions
                }
                self.queue.async { self.refresh(sessions) }
            }
        }
    }

    /// Reads the rosters of `sessions` and tells this node's connections what changed.
    func refresh(_ sessions: [String], thenListening: Bool = false) {
        for session in sessions {
            run("roster", [RedisArgument(session)]) { reply in
                guard let reply else { return }
                self.state.withLock { state in
                    if thenListening { state.listening.insert(session) }
                    let updates = state.views.refresh(session: session, version: reply.version, users: reply.users,
                                                      local: self.announced(session, in: state))
                    self.deliver(updates, session: session, in: state)
                }
            }
        }
    }

    /// Runs `action` every `millis` on `queue` until stopped (rescheduling itself, so there is no
    /// timer object to cancel or to share between threads).
    private func every(_ millis: Int, _ action: @escaping @Sendable (RedisPresence) -> Void) {
        queue.asyncAfter(deadline: .now() + .milliseconds(millis)) { [weak self] in
            guard let self, !self.state.withLock({ $0.stopped }) else { return }
            action(self)
            self.every(millis, action)
        }
    }
}
