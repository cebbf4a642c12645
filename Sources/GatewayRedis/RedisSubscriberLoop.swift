/// The subscriber thread's side of `RedisSubscriber` (`run()` is the thread's body): owns the
/// pub/sub connection and is used by that thread only.
///
/// Every new connection subscribes to the whole current set; after a reconnect, once Redis has
/// confirmed all of it, `.resubscribed` is reported. A PING goes out `pingInterval` after the
/// last PONG; `pingTimeout` without a single byte from the server after it drops the
/// connection as dead.
final class RedisSubscriberLoop {
    private let connector: RedisConnector
    private let options: RedisSubscriberOptions
    private let inbox: RedisSubscriptionInbox
    private let state: RedisStateCell
    private let emit: @Sendable (RedisSubscriberEvent) -> Void

    // Per connection, reset by `serve`:
    /// Subscriptions of the connection's initial full SUBSCRIBE still unconfirmed.
    private var unconfirmed = 0
    private var owesResubscribed = false
    private var nextPing = ContinuousClock.now
    private var pongDeadline: ContinuousClock.Instant?

    init(endpoint: RedisEndpoint, options: RedisSubscriberOptions, inbox: RedisSubscriptionInbox,
         state: RedisStateCell, emit: @escaping @Sendable (RedisSubscriberEvent) -> Void) {
        connector = RedisConnector(endpoint: endpoint, timeout: options.connectTimeout,
                                   wakeup: inbox.wakeup, isShuttingDown: { inbox.isClosed })
        self.options = options
        self.inbox = inbox
        self.state = state
        self.emit = emit
    }

    func run() {
        var failedAttempts = 0
        var connectedBefore = false
        while !inbox.isClosed {
            state.update(.connecting)
            let connection: HiredisConnection
            do throws(RedisError) {
                connection = try connector.connect()
            } catch .shutdown {
                break
            } catch {
                failedAttempts += 1
                state.update(.down(error))
                guard wait(for: options.reconnectBackoff.delay(afterFailures: failedAttempts)) else { break }
                continue
            }
            failedAttempts = 0
            state.update(.connected)
            let reason = serve(connection, isReconnect: connectedBefore)
            connectedBefore = true
            if reason == .shutdown { break }
            state.update(.down(reason))
        }
        state.update(.closed)
    }

    /// Listens until the connection fails or shutdown; returns why it ended.
    private func serve(_ connection: HiredisConnection, isReconnect: Bool) -> RedisError {
        do throws(RedisError) {
            let everything = inbox.takeEverything()
            try send(.subscribe(everything), on: connection)
            unconfirmed = everything.count
            owesResubscribed = isReconnect
            reportResubscribedWhenConfirmed()
            pongDeadline = nil
            nextPing = .now + options.pingInterval
            while true {
                let (changes, closing) = inbox.takeChanges()
                if closing { return .shutdown }
                for change in changes { try send(change, on: connection) }
                if pongDeadline == nil, ContinuousClock.now >= nextPing {
                    try connection.append(["PING"])
                    pongDeadline = .now + options.pingTimeout
                }
                if connection.hasUnsentOutput { try connection.flush() }
                let ready = SocketPoll.wait(socket: connection.socket, forWrite: connection.hasUnsentOutput,
                                            wakeup: inbox.wakeup, until: pongDeadline ?? nextPing)
                if ready.woken { inbox.wakeup.drain() }
                if ready.readable {
                    try connection.receive()
                    while let reply = try connection.nextReply() {
                        try handle(reply)
                        // The link is alive and the PONG is queued behind this reply: a slow
                        // reader under a flood of messages is not a dead link.
                        if pongDeadline != nil { pongDeadline = .now + options.pingTimeout }
                    }
                }
                if let pongDeadline, ContinuousClock.now >= pongDeadline {
                    throw .connectionLost("no PONG within \(options.pingTimeout): the link is dead")
                }
            }
        } catch {
            return error
        }
    }

    /// One SUBSCRIBE and one PSUBSCRIBE at most; an empty list is never sent, because an
    /// UNSUBSCRIBE without arguments means "from everything".
    private func send(_ change: RedisSubscriptionInbox.Change, on connection: HiredisConnection) throws(RedisError) {
        let (subscriptions, channelCommand, patternCommand): ([RedisSubscription], RedisArgument, RedisArgument) =
            switch change {
            case let .subscribe(list): (list, "SUBSCRIBE", "PSUBSCRIBE")
            case let .unsubscribe(list): (list, "UNSUBSCRIBE", "PUNSUBSCRIBE")
            }
        var channels: [RedisArgument] = []
        var patterns: [RedisArgument] = []
        for subscription in subscriptions {
            switch subscription {
            case let .channel(name): channels.append(RedisArgument(name))
            case let .pattern(glob): patterns.append(RedisArgument(glob))
            }
        }
        if !channels.isEmpty { try connection.append([channelCommand] + channels) }
        if !patterns.isEmpty { try connection.append([patternCommand] + patterns) }
    }

    private func handle(_ reply: RedisValue) throws(RedisError) {
        switch reply {
        case .status("PONG"):  // PING while subscribed to nothing gets a plain status
            pongArrived()
        case let .error(text):
            emit(.serverError(text))
        case let .array(parts):
            let kind = parts.first?.string ?? ""
            switch (kind, parts.count) {
            case ("message", 3):
                emit(.message(RedisMessage(channel: parts[1].string ?? "", payload: parts[2].bytes ?? [])))
            case ("pmessage", 4):
                emit(.message(RedisMessage(channel: parts[2].string ?? "", pattern: parts[1].string,
                                           payload: parts[3].bytes ?? [])))
            case ("subscribe", 3):
                confirm(.channel(parts[1].string ?? ""))
            case ("psubscribe", 3):
                confirm(.pattern(parts[1].string ?? ""))
            case ("unsubscribe", 3):
                // A null name: unsubscribed while subscribed to nothing.
                if let name = parts[1].string { emit(.unsubscribed(.channel(name))) }
            case ("punsubscribe", 3):
                if let glob = parts[1].string { emit(.unsubscribed(.pattern(glob))) }
            case ("pong", 2):
                pongArrived()
            default:
                throw .protocolError("unexpected reply on the pub/sub connection: \(reply)")
            }
        default:
            throw .protocolError("unexpected reply on the pub/sub connection: \(reply)")
        }
    }

    private func pongArrived() {
        pongDeadline = nil
        nextPing = .now + options.pingInterval
    }

    private func confirm(_ subscription: RedisSubscription) {
        emit(.subscribed(subscription))
        guard unconfirmed > 0 else { return }
        unconfirmed -= 1
        reportResubscribedWhenConfirmed()
    }

    private func reportResubscribedWhenConfirmed() {
        guard owesResubscribed, unconfirmed == 0 else { return }
        owesResubscribed = false
        emit(.resubscribed)
    }

    /// The backoff wait; subscription changes meanwhile are only recorded. False on shutdown.
    private func wait(for delay: Duration) -> Bool {
        let end = ContinuousClock.now + delay
        while ContinuousClock.now < end {
            let ready = SocketPoll.wait(socket: nil, forWrite: false, wakeup: inbox.wakeup, until: end)
            if ready.woken { inbox.wakeup.drain() }
            if inbox.isClosed { return false }
        }
        return true
    }
}
