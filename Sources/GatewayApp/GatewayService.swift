import Dispatch
import GatewayCore
import GatewayWebSocket

/// The chat protocol on top of the WebSocket server (docs/protocol.md). The server calls it on the
/// lws service thread; a frame that waits for the shared store is finished, and the connection's
/// next frames handled, on the store's thread (Redis mode). Everything it touches from there is
/// thread-safe: the connection table and stores have their own locks, and the server is reached
/// only through `ServerLink` (wake and close post to the service thread). Frames of one connection
/// are handled one at a time, in the order received.
final class GatewayService: WebSocketServerHandler, Sendable {
    private let config: GatewayConfig
    private let nodeID: String
    private let store: any SessionStore
    private let turns: TurnCoordinator
    private let connections: ConnectionTable
    private let link: ServerLink
    private let health: HealthReporter
    private let limits: AdmissionLimits
    private let presence: PresenceHub

    /// False on a worker-only node: it serves health but takes no clients.
    private let acceptsClients: Bool

    init(config: GatewayConfig, nodeID: String, store: any SessionStore, turns: TurnCoordinator,
         link: ServerLink, health: HealthReporter, limits: AdmissionLimits, presence: PresenceHub,
         acceptsClients: Bool = true) {
        self.acceptsClients = acceptsClients
        self.config = config
        self.nodeID = nodeID
        self.store = store
        self.turns = turns
        self.link = link
        self.health = health
        self.limits = limits
        self.presence = presence
        self.connections = ConnectionTable(controlCapBytes: config.server.outboundQueueBytes)
    }

    var connectionCount: Int { connections.count }

    func connectionOpened(_ connection: ConnectionID, remoteAddress: String) {
        connections.open(connection)
        guard acceptsClients else {
            return link.close(connection, code: CloseCode.workerOnly, reason: "this node runs turns only; connect to a gateway node")
        }
        let deadline = DispatchTime.now() + .seconds(config.server.helloTimeoutSeconds)
        DispatchQueue.global().asyncAfter(deadline: deadline) { [connections, link] in
            guard connections.hasOpenConnectionWithoutHello(connection) else { return }
            link.close(connection, code: CloseCode.helloRequired, reason: "hello required")
        }
        limits.admitConnection(from: remoteAddress) { [self] decision in
            guard let error = decision.protocolError else { return }
            send(.error(error, ref: nil), to: connection)
            connections.closeAfterQueuedFrames(connection, code: CloseCode.rateLimited, reason: error.code)
            link.wake(connection)
        }
    }

    func connectionClosed(_ connection: ConnectionID) {
        for session in connections.close(connection) {
            leave(session: session, connection: connection)
        }
    }

    func connectionReceived(_ connection: ConnectionID, text: [UInt8]) {
        switch connections.admitRequest(text, for: connection) {
        case .handleNow: handleRequests(of: connection)
        case .queued, .closed: break
        case .overflow:
            link.close(connection, code: CloseCode.tooManyRequests, reason: "too many requests in flight")
        }
    }

    /// Handles the connection's frames in order until none is left or one waits for the store;
    /// that one's completion carries on (on the store's thread: everything below is thread-safe).
    private func handleRequests(of connection: ConnectionID) {
        while let text = connections.nextRequest(for: connection) {
            let gate = RequestGate()
            handle(text, from: connection) { [weak self] in
                if gate.completeAfterReturn() { self?.handleRequests(of: connection) }
            }
            if gate.returnWhilePending() { return }
        }
    }

    private func handle(_ text: [UInt8], from connection: ConnectionID, done: @escaping @Sendable () -> Void) {
        let frame: ClientFrame
        do {
            frame = try ClientFrame.decode(text)
        } catch {
            if connections.user(of: connection) == nil {
                link.close(connection, code: CloseCode.helloRequired, reason: "the first frame must be hello")
            } else {
                send(.error(error, ref: nil), to: connection)
            }
            return done()
        }
        guard let user = connections.user(of: connection) else {
            guard case .hello(_, _, let tenant, let user, let role) = frame else {
                link.close(connection, code: CloseCode.helloRequired, reason: "the first frame must be hello")
                return done()
            }
            hello(connection, tenant: tenant ?? ConnectionTable.defaultTenant, user: user, role: role ?? "user")
            return done()
        }
        switch frame {
        case .hello:
            send(.error(.badRequest("hello was already received on this connection"), ref: nil), to: connection)
        case .join(let session, let afterSeq):
            return join(session: session, afterSeq: afterSeq, connection: connection, done: done)
        case .message(let session, let id, let text):
            guard connections.hasJoined(session, connection) else { send(.error(.notJoined(session: session), ref: id), to: connection); break }
            return limitedMessage(session: session, id: id, text: text, author: user, tenant: connections.tenant(of: connection),
                                  connection: connection, done: done)
        case .stop(let session):
            guard connections.hasJoined(session, connection) else { send(.error(.notJoined(session: session), ref: nil), to: connection); break }
            turns.stop(session: session)
        case .typing(let session):
            guard connections.hasJoined(session, connection) else { send(.error(.notJoined(session: session), ref: nil), to: connection); break }
            presence.typing(session: session, connection: connection)
        case .leave(let session):
            guard connections.hasJoined(session, connection) else { send(.error(.notJoined(session: session), ref: nil), to: connection); break }
            connections.removeSession(session, from: connection)
            leave(session: session, connection: connection)
        }
        done()
    }

    func nextOutbound(for connection: ConnectionID) -> OutboundAction {
        guard let next = connections.nextOutbound(for: connection) else { return .idle }
        switch next {
        case .control(let frame):
            return .frame(frame)
        case .close(let code, let reason):
            return .close(code: code, reason: reason)
        case .sessions(let sessions, let start):
            if let frame = presence.nextFrame(for: connection) { return .frame(frame) }
            for step in 0..<sessions.count {
                let index = (start + step) % sessions.count
                guard let (frame, caughtUp) = store.nextFrameAndCaughtUp(session: sessions[index], connection: connection) else {
                    continue
                }
                // With one session the position cannot move. And when its cursor is caught up, the
                // connection's own queue and presence were empty just before: whatever is added to
                // any of them from now on wakes the connection, so the server need not ask again.
                guard sessions.count == 1 else {
                    connections.advanceRoundRobin(connection, after: index)
                    return .frame(frame)
                }
                return caughtUp ? .lastFrame(frame) : .frame(frame)
            }
            return .idle
        }
    }

    func httpResponse(forPath path: String) -> HTTPResponse {
        health.response(forPath: path, connections: connections.count, sessions: store.sessionCount,
                        runningTurns: turns.runningCount)
    }

    private func hello(_ connection: ConnectionID, tenant: String, user: String?, role: String) {
        let user = user ?? Identifiers.guest()
        guard connections.setUser(user, role: role, tenant: tenant, for: connection) else { return }
        send(.welcome(connectionID: "\(nodeID)-\(connection.rawValue)", node: nodeID, user: user, role: role,
                      tenant: tenant, heartbeatSeconds: config.server.heartbeatSeconds), to: connection)
    }

    private func join(session: String, afterSeq: Int?, connection: ConnectionID, done: @escaping @Sendable () -> Void) {
        store.join(session: session, connection: connection, afterSeq: afterSeq) { [self] result in
            defer { done() }
            switch result {
            case .success(.joined(let seq, let recovered)):
                // `joined` is queued before the session is added to the connection's round-robin,
                // and a connection's own frames go out first, so `joined` always precedes the replay.
                send(.joined(session: session, seq: seq, recovered: recovered), to: connection)
                if !connections.addSession(session, to: connection) {
                    _ = store.leave(session: session, connection: connection)  // closed meanwhile
                    return
                }
                joinPresence(session: session, connection: connection)
            case .failure(let error):
                send(.error(.unavailable(error.description), ref: nil), to: connection)
            }
        }
    }

    /// The rate limits first: a refused message is answered here and not appended.
    private func limitedMessage(session: String, id: String, text: String, author: String, tenant: String,
                                connection: ConnectionID, done: @escaping @Sendable () -> Void) {
        limits.admitMessage(user: author, tenant: tenant, text: text) { [self] decision, reservation in
            guard let error = decision.protocolError else {
                return message(session: session, id: id, text: text, author: author, tenant: tenant, reservation: reservation,
                               connection: connection, done: done)
            }
            send(.error(error, ref: id), to: connection)
            done()
        }
    }

    private func message(session: String, id: String, text: String, author: String, tenant: String,
                         reservation: AdmissionReservation?, connection: ConnectionID, done: @escaping @Sendable () -> Void) {
        turns.submit(session: session, messageID: id, text: text, author: author, tenant: tenant,
                     reservation: reservation) { [self] outcome in
            defer { done() }
            if case .accepted = outcome {} else { limits.refund(reservation) }  // nothing appended: nothing used
            switch outcome {
            case .accepted(let ackSeq), .duplicate(let ackSeq):
                send(.ack(id: id, seq: ackSeq), to: connection)
            case .busy:
                send(.error(.busy(session: session), ref: id), to: connection)
            case .overloaded:
                send(.error(.overloaded, ref: id), to: connection)
            case .budgetExceeded(let wait):
                send(.error(.budgetExceeded(tenant: tenant, retryAfterMillis: wait), ref: id), to: connection)
            case .unavailable(let error):
                send(.error(.unavailable(error.description), ref: id), to: connection)
            }
        }
    }

    /// After `joined` is queued (presence frames go out after the connection's own). This may run
    /// on the store's thread while the lws thread closes the connection: a close that came first
    /// shows in `hasJoined` afterwards, and its own leave ran before this join, so leave again.
    private func joinPresence(session: String, connection: ConnectionID) {
        guard let user = connections.user(of: connection) else { return }
        presence.join(session: session, connection: connection, user: user, role: connections.role(of: connection))
        if !connections.hasJoined(session, connection) { presence.leave(session: session, connection: connection) }
    }

    private func leave(session: String, connection: ConnectionID) {
        presence.leave(session: session, connection: connection)
        let remaining = store.leave(session: session, connection: connection)
        if remaining == 0, config.sessions.cancelOnAbandon {
            turns.stop(session: session)
        }
    }

    private func send(_ frame: ServerFrame, to connection: ConnectionID) {
        if connections.enqueue(frame.encode(), for: connection) {
            link.wake(connection)
        } else {
            link.close(connection, code: CloseCode.slowConsumer, reason: "slow consumer")
        }
    }
}
