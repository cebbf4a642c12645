import Dispatch
import GatewayCore
import GatewayRedis

/// How mirrors come and go: a session's channel is subscribed when its first local join makes the
/// mirror and unsubscribed when its last local subscriber leaves; reads go out when a mirror asks;
/// pub/sub events are routed to their session's mirror.
extension RedisSessionStore {
    /// The session's mirror, made (and its channel subscribed) if there is none.
    func mirrorBox(_ session: String) -> MirrorBox {
        table.withLock { table in
            if let box = table.mirrors[session] { return box }
            let box = MirrorBox(SessionMirror(session: session, maxEvents: settings.maxEvents,
                                              maxTranscriptEntries: settings.maxTranscriptEntries,
                                              outboundCapBytes: settings.outboundCapBytes))
            table.mirrors[session] = box
            subscriber.subscribe(channels: [keys.sessionChannel(session)])
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(settings.subscribeTimeoutMillis)) { [weak self] in
                self?.giveUpIfStillSubscribing(session: session, box: box)
            }
            return box
        }
    }

    /// Drops the mirror once nobody here is subscribed or waiting: Redis keeps the truth, and the
    /// next local join reads it again.
    func dropIfUnused(session: String, box: MirrorBox) {
        table.withLock { table in
            let unused = box.mirror.withLock { mirror -> Bool in
                guard !mirror.retired, mirror.isUnused else { return false }
                mirror.retired = true
                return true
            }
            if unused { remove(session, from: &table) }
        }
    }

    private func remove(_ session: String, from table: inout Table) {
        table.mirrors[session] = nil
        let channel = keys.sessionChannel(session)
        table.unconfirmedUnsubscribes[channel, default: 0] += 1
        subscriber.unsubscribe(channels: [channel])
    }

    private func giveUpIfStillSubscribing(session: String, box: MirrorBox) {
        let channel = keys.sessionChannel(session)
        let effects = table.withLock { table -> SessionMirror.Effects in
            let effects = box.mirror.withLock { mirror -> SessionMirror.Effects in
                guard !mirror.retired else { return SessionMirror.Effects() }
                let effects = mirror.subscribeTimedOut()
                if effects.retire { mirror.retired = true }
                return effects
            }
            if effects.retire {
                // The wait may be on an UNSUBSCRIBE confirmation that a reconnect swallowed (the
                // subscriber drops pending changes when it re-subscribes from scratch): start over.
                table.unconfirmedUnsubscribes[channel] = nil
                remove(session, from: &table)
            }
            return effects
        }
        perform(effects, session: session, box: box)
    }

    func startRead(_ read: SessionMirror.Read, session: String, box: MirrorBox) {
        let mode: [RedisArgument]
        switch read {
        case .tail: mode = ["tail", 0]
        case .after(let seq, _): mode = ["after", RedisArgument(seq)]
        }
        client.evaluate(SessionLogScripts.read, arguments: SessionLogScripts.common(keys, session, settings) + mode) { [self] result in
            let decoded: SessionMirror.ReadResult
            do {
                decoded = try SessionScriptReplies.read(try result.get(), session: session)
            } catch {
                decoded = .failed(.unavailable(String(describing: error)))
            }
            readArrived(decoded, for: read, session: session, box: box)
        }
    }

    /// Under the table's lock too, because a failed first read drops the mirror.
    private func readArrived(_ result: SessionMirror.ReadResult, for read: SessionMirror.Read, session: String, box: MirrorBox) {
        let effects = table.withLock { table -> SessionMirror.Effects in
            let effects = box.mirror.withLock { mirror -> SessionMirror.Effects in
                guard !mirror.retired else { return SessionMirror.Effects() }
                let effects = mirror.readArrived(result, for: read, now: WallClock.millis())
                if effects.retire { mirror.retired = true }
                return effects
            }
            if effects.retire { remove(session, from: &table) }
            return effects
        }
        perform(effects, session: session, box: box)
        if box.mirror.withLock({ !$0.retired && $0.phase == .stalled }) { retryStalledRead(session: session, box: box) }
    }

    /// A stalled mirror (its catch-up read failed while Redis was away) waits for the next frame or
    /// the pub/sub link's return to read again; when neither comes (a restarted Redis that lost the
    /// session publishes nothing on it, and the link may have come back before the command
    /// connection), its subscribers would wait in silence. So it also tries again on a timer.
    private func retryStalledRead(session: String, box: MirrorBox) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Self.stalledReadRetryMillis)) { [weak self] in
            guard let self else { return }
            let effects = box.mirror.withLock { mirror in
                !mirror.retired && mirror.phase == .stalled ? mirror.resubscribed() : SessionMirror.Effects()
            }
            perform(effects, session: session, box: box)
        }
    }

    static var stalledReadRetryMillis: Int { 500 }

    /// Subscriber thread.
    func handle(_ event: RedisSubscriberEvent) {
        switch event {
        case .message(let message):
            guard let session = keys.session(ofChannel: message.channel),
                  let box = table.withLock({ $0.mirrors[session] }) else { return }
            guard let decoded = try? SessionEvent(decoding: message.payload) else {
                // Left out; the next event then looks like a gap, and the read it starts gets past this one.
                return log("a frame published for session \(session) is not a session event; ignored")
            }
            let effects = box.mirror.withLock { mirror in
                mirror.retired ? SessionMirror.Effects() : mirror.received(decoded, now: WallClock.millis())
            }
            perform(effects, session: session, box: box)
        case .subscribed(.channel(let channel)):
            guard let session = keys.session(ofChannel: channel) else { return }
            let box = table.withLock { table -> MirrorBox? in
                if table.unconfirmedUnsubscribes[channel] != nil { return nil }
                return table.mirrors[session]
            }
            guard let box else { return }
            let effects = box.mirror.withLock { mirror in mirror.retired ? SessionMirror.Effects() : mirror.subscribed() }
            perform(effects, session: session, box: box)
        case .unsubscribed(.channel(let channel)):
            table.withLock { table in
                guard let pending = table.unconfirmedUnsubscribes[channel] else { return }
                table.unconfirmedUnsubscribes[channel] = pending > 1 ? pending - 1 : nil
            }
        case .resubscribed:
            // Whatever was published while the link was down is lost to pub/sub: every mirror reads
            // what follows its last seq.
            for (session, box) in table.withLock({ Array($0.mirrors) }) {
                let effects = box.mirror.withLock { mirror in mirror.retired ? SessionMirror.Effects() : mirror.resubscribed() }
                perform(effects, session: session, box: box)
            }
        case .stateChanged:
            // A new connection subscribes to the current set from scratch: no older confirmation
            // will come on it.
            table.withLock { $0.unconfirmedUnsubscribes = [:] }
        case .serverError(let text):
            log("the pub/sub connection refused a subscription: \(text)")
        case .subscribed(.pattern), .unsubscribed(.pattern):
            break
        }
    }
}
