/// The command thread's side of `RedisClient` (`run()` is the thread's body): owns the hiredis
/// connection and the commands waiting for replies, and is used by that thread only.
///
/// Pipelining: every command queued since the last look is framed and written at once, and new
/// ones are written while earlier replies are still outstanding; replies come back in the order
/// sent, so each completes the oldest waiting command. One round trip serves a whole batch.
///
/// Connection policy (also in `RedisClient`'s documentation):
/// - connecting: commands wait in the inbox for the attempt;
/// - the attempt fails: those commands fail with its error, state `.down`, and until the next
///   attempt new commands fail at once with `.notConnected`;
/// - the connection drops or a reply is late: every command sent and not answered fails
///   (`.connectionLost`, `.timeout`), never re-sent, since it may have run;
/// - a working connection that drops is retried at once, then after growing backoff delays.
final class RedisCommandLoop {
    private let connector: RedisConnector
    private let backoff: RedisReconnectBackoff
    private let inbox: RedisCommandInbox
    private let state: RedisStateCell
    private var inFlight = FIFOQueue<RedisCommandInbox.Command>()

    init(endpoint: RedisEndpoint, options: RedisClientOptions, inbox: RedisCommandInbox, state: RedisStateCell) {
        connector = RedisConnector(endpoint: endpoint, timeout: options.connectTimeout,
                                   wakeup: inbox.wakeup, isShuttingDown: { inbox.isClosed })
        backoff = options.reconnectBackoff
        self.inbox = inbox
        self.state = state
    }

    func run() {
        var failedAttempts = 0
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
                fail(inbox.take().commands, with: error)
                guard waitRefusingCommands(for: backoff.delay(afterFailures: failedAttempts)) else { break }
                continue
            }
            failedAttempts = 0
            state.update(.connected)
            let reason = serve(connection)
            if reason == .shutdown { break }
            state.update(.down(reason))
        }
        fail(inFlight.removeAll(), with: .shutdown)
        fail(inbox.take().commands, with: .shutdown)
        state.update(.closed)
    }

    /// Sends and completes commands until the connection fails or shutdown; returns why it
    /// ended, with every in-flight command already failed.
    private func serve(_ connection: HiredisConnection) -> RedisError {
        while true {
            let (commands, closing) = inbox.take()
            if closing {
                fail(commands, with: .shutdown)
                fail(inFlight.removeAll(), with: .shutdown)
                return .shutdown
            }
            do throws(RedisError) {
                try send(commands, on: connection)
                if connection.hasUnsentOutput { try connection.flush() }
                let ready = SocketPoll.wait(socket: connection.socket, forWrite: connection.hasUnsentOutput,
                                            wakeup: inbox.wakeup, until: inFlight.first?.deadline)
                if ready.woken { inbox.wakeup.drain() }
                if ready.readable {
                    try connection.receive()
                    try completeReplies(from: connection)
                }
                if let oldest = inFlight.first, oldest.deadline <= .now { throw .timeout }
            } catch {
                failInFlight(after: error)
                return error
            }
        }
    }

    private func send(_ commands: [RedisCommandInbox.Command], on connection: HiredisConnection) throws(RedisError) {
        let now = ContinuousClock.now
        for (index, command) in commands.enumerated() {
            // Waited out its whole timeout for a connection: too late to be useful.
            guard command.deadline > now else {
                command.complete(.failure(.timeout))
                continue
            }
            do throws(RedisError) {
                try connection.append(command.arguments)
            } catch {
                fail(Array(commands[index...]), with: error)  // not sent: not in flight
                throw error
            }
            inFlight.append(command)
        }
    }

    private func completeReplies(from connection: HiredisConnection) throws(RedisError) {
        while let reply = try connection.nextReply() {
            guard let command = inFlight.popFirst() else {
                throw .protocolError("a reply arrived with no command waiting for it")
            }
            if case let .error(text) = reply {
                command.complete(.failure(.server(text)))
            } else {
                command.complete(.success(reply))
            }
        }
    }

    /// After a timeout, the late commands get `.timeout` and the ones behind them, which lose
    /// their connection to it, `.connectionLost`.
    private func failInFlight(after error: RedisError) {
        let now = ContinuousClock.now
        for command in inFlight.removeAll() {
            if error == .timeout, command.deadline > now {
                command.complete(.failure(.connectionLost("dropped after an earlier command timed out")))
            } else {
                command.complete(.failure(error))
            }
        }
    }

    private func fail(_ commands: [RedisCommandInbox.Command], with error: RedisError) {
        for command in commands { command.complete(.failure(error)) }
    }

    /// The backoff wait while down: commands arriving meanwhile fail at once with
    /// `.notConnected` rather than wait for a server that may stay away. False on shutdown.
    private func waitRefusingCommands(for delay: Duration) -> Bool {
        let end = ContinuousClock.now + delay
        while ContinuousClock.now < end {
            let ready = SocketPoll.wait(socket: nil, forWrite: false, wakeup: inbox.wakeup, until: end)
            if ready.woken { inbox.wakeup.drain() }
            let (commands, closing) = inbox.take()
            if closing {
                fail(commands, with: .shutdown)
                return false
            }
            fail(commands, with: .notConnected)
        }
        return true
    }
}
