/// Opens a logged-in connection for a connection thread: connect, then AUTH and SELECT when the
/// endpoint asks for them, then PING, all within one connect timeout and pipelined in one write.
///
/// The PING makes "connected" mean "the server answers", not just "the kernel accepted the
/// connection": a paused (SIGSTOP) or wedged server still completes TCP handshakes from its
/// listen backlog.
///
/// The wait watches the thread's wakeup pipe, so `shutdown()` does not wait for a slow connect.
/// Commands submitted meanwhile stay in the inbox for the thread to take afterwards.
struct RedisConnector {
    let endpoint: RedisEndpoint
    let timeout: Duration
    let wakeup: WakeupPipe
    /// Asked after every wake-up: true ends the attempt with `.shutdown`.
    let isShuttingDown: () -> Bool

    func connect() throws(RedisError) -> HiredisConnection {
        let deadline = ContinuousClock.now + timeout
        let connection = try HiredisConnection(connectingTo: endpoint.address)
        while try !waitUntilReady(connection, deadline: deadline, forWrite: true).writable {}
        try connection.finishConnect()
        do throws(RedisError) {
            return try logIn(connection, deadline: deadline)
        } catch .connectionLost(let reason) {
            throw .cannotConnect(reason)
        } catch .protocolError(let reason) {
            throw .cannotConnect("protocol error during the handshake: \(reason)")
        }
    }

    private var handshake: [[RedisArgument]] {
        var commands: [[RedisArgument]] = []
        if let password = endpoint.password {
            commands.append(["AUTH"] + (endpoint.username.map { [RedisArgument($0)] } ?? []) + [RedisArgument(password)])
        }
        if endpoint.database != 0 {
            commands.append(["SELECT", RedisArgument(endpoint.database)])
        }
        commands.append(["PING"])
        return commands
    }

    /// An error reply (WRONGPASS, NOAUTH, "DB index is out of range") ends the attempt with it.
    private func logIn(_ connection: HiredisConnection, deadline: ContinuousClock.Instant) throws(RedisError) -> HiredisConnection {
        let commands = handshake
        for command in commands { try connection.append(command) }
        var repliesLeft = commands.count
        while repliesLeft > 0 {
            if connection.hasUnsentOutput { try connection.flush() }
            if let reply = try connection.nextReply() {
                if case let .error(text) = reply { throw .server(text) }
                repliesLeft -= 1
                continue
            }
            let ready = try waitUntilReady(connection, deadline: deadline, forWrite: connection.hasUnsentOutput)
            if ready.readable { try connection.receive() }
        }
        return connection
    }

    private func waitUntilReady(_ connection: HiredisConnection, deadline: ContinuousClock.Instant,
                                forWrite: Bool) throws(RedisError) -> SocketPoll.Readiness {
        let ready = SocketPoll.wait(socket: connection.socket, forWrite: forWrite, wakeup: wakeup, until: deadline)
        if ready.woken {
            wakeup.drain()
            if isShuttingDown() { throw .shutdown }
        }
        if !ready.readable, !ready.writable, ContinuousClock.now >= deadline {
            throw .cannotConnect("no connection and handshake within \(timeout) to \(endpoint)")
        }
        return ready
    }
}
