@preconcurrency import Glibc
import CWebSockets
import Dispatch
import GatewayCore
import Synchronization

/// The lws service thread and everything it owns: the context, the connection table, the write
/// buffer. `@unchecked Sendable` because every stored property except `inbox` (a Mutex),
/// `listenPort` and `openCount` (Atomics) is read and written only on the service thread, which
/// runs `run()`; other threads reach it only through `inbox` plus `lws_cancel_service`.
final class ServiceLoop: @unchecked Sendable {
    let options: WebSocketServerOptions
    let handler: any WebSocketServerHandler

    // Shared with other threads.
    let inbox = Mutex(Inbox())
    let listenPort = Atomic<Int>(0)
    let openCount = Atomic<Int>(0)

    // Service thread only.
    var context: OpaquePointer?
    var connections: [UInt64: Connection] = [:]
    var writeBuffer = WriteBuffer()
    /// stop() was requested: new upgrades are refused, open connections are closing with 1001.
    var stopping = false
    private var exitRequested = false
    private var timer: ServiceTimer?
    /// Drained wake lists are swapped back in to keep their capacity: no allocation per wake.
    private var spareWakes: [ConnectionID] = []

    /// Connection ids are unique per process, across servers, as `ConnectionID` promises.
    private static let lastConnectionID = Atomic<UInt64>(0)

    init(options: WebSocketServerOptions, handler: any WebSocketServerHandler) {
        self.options = options
        self.handler = handler
    }

    func nextConnectionID() -> ConnectionID {
        ConnectionID(Self.lastConnectionID.add(1, ordering: .relaxed).newValue)
    }

    // MARK: - Any thread

    /// Queues a request and makes sure the service thread wakes for it. Returns false when the loop
    /// is not running (request dropped).
    @discardableResult
    func post(_ change: (inout Inbox) -> Void) -> Bool {
        inbox.withLock { box in
            guard let address = box.contextAddress, let context = OpaquePointer(bitPattern: address) else {
                return false
            }
            change(&box)
            if !box.cancelPending {
                box.cancelPending = true
                // Under the lock, so the context cannot be destroyed in between (see Inbox.context).
                lws_cancel_service(context)
            }
            return true
        }
    }

    // MARK: - Service thread

    /// The thread body: create the context, report the port (or the failure), serve until stopped,
    /// destroy the context, free what lws pointed into.
    func run(reportingTo startup: StartupGate) {
        let resources = ContextResources(options: options)
        guard let context = createContext(resources) else {
            resources.release()
            startup.finish(.failure(.contextCreationFailed(host: options.host, port: options.port,
                                                           eventLoop: options.eventLoop)))
            return
        }
        self.context = context
        let timer = ServiceTimer(owner: self)
        self.timer = timer
        let port = Int(lws_get_vhost_listen_port(lws_get_vhost_by_name(context, "default")))
        listenPort.store(port, ordering: .releasing)
        let address = UInt(bitPattern: context)
        inbox.withLock { $0.contextAddress = address }
        let tick = startSulTick()
        startup.finish(.success(port))

        // poll: lws_service returns after every batch of events. libev: it returns only once
        // beginExit() has started the context's destruction (which breaks the ev loop).
        while !exitRequested {
            if lws_service(context, 0) < 0 { break }
        }
        tick?.cancel()
        inbox.withLock { $0.contextAddress = nil }
        lws_context_destroy(context)
        self.context = nil
        // lws reports every close from inside destroy; this only guards the exactly-once promise.
        for connection in Array(connections.values) { finish(connection) }
        timer.deallocate()
        self.timer = nil
        resources.release()
    }

    /// lws 4.1's libev loop services its timers (pings, hang-ups, ours) only when an I/O event
    /// arrives or its one ev timer fires, and that timer is not re-armed when an earlier timer is
    /// added while it is running: an idle connection's ping could wait for minutes. A once-a-second
    /// wake (an empty inbox post: one pipe write) bounds that lateness to a second.
    private func startSulTick() -> (any DispatchSourceTimer)? {
        guard options.eventLoop == .libev else { return nil }
        let tick = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        tick.schedule(deadline: .now() + .seconds(1), repeating: .seconds(1), leeway: .milliseconds(100))
        tick.setEventHandler { [weak self] in self?.post { _ in } }
        tick.resume()
        return tick
    }

    private func createContext(_ resources: ContextResources) -> OpaquePointer? {
        var info = lws_context_creation_info()
        info.port = Int32(options.port)
        info.iface = UnsafePointer(resources.host)
        info.protocols = UnsafePointer(resources.protocols)
        info.mounts = UnsafePointer(resources.mounts)
        info.retry_and_idle_policy = UnsafePointer(resources.retryPolicy)
        info.server_string = UnsafePointer(resources.serverName)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        info.gid = -1
        info.uid = -1
        // Bigger than the 4 KiB default: static files go out in fewer, larger writes. Per thread.
        info.pt_serv_buf_size = 16 * 1024
        var flags = UInt64(LWS_SERVER_OPTION_VALIDATE_UTF8)
            | UInt64(LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND)
        if !options.host.contains(":") { flags |= UInt64(LWS_SERVER_OPTION_DISABLE_IPV6) }
        if options.eventLoop == .libev { flags |= UInt64(LWS_SERVER_OPTION_LIBEV) }
        info.options = flags

        // lws's libev loop installs a SIGINT watcher (which would end our loop on Ctrl-C); the
        // application owns signals, so put back whatever SIGINT disposition was there before.
        var savedSigint = sigaction()
        sigaction(SIGINT, nil, &savedSigint)
        defer { sigaction(SIGINT, &savedSigint, nil) }
        return lws_create_context(&info)
    }

    /// `LWS_CALLBACK_EVENT_WAIT_CANCELLED`: apply everything other threads asked for.
    func drainInbox() {
        var wakes = spareWakes
        let (closes, stopRequested) = inbox.withLock { box in
            swap(&wakes, &box.wakes)
            let closes = box.closes
            box.closes = []
            box.cancelPending = false
            return (closes, box.stopRequested)
        }
        for id in wakes {
            if let connection = connections[id.rawValue] { lws_callback_on_writable(connection.wsi) }
        }
        wakes.removeAll(keepingCapacity: true)
        spareWakes = wakes
        for request in closes {
            if let connection = connections[request.id.rawValue] {
                requestClose(connection, code: request.code, reason: request.reason)
            }
        }
        if stopRequested && !stopping { beginStopping() }
    }

    /// Marks a connection to close at its next WRITEABLE: ahead of anything queued, or with
    /// `afterQueuedFrames` once the queue is empty. First request wins.
    func requestClose(_ connection: Connection, code: UInt16, reason: String, afterQueuedFrames: Bool = false) {
        if connection.closeRequest == nil {
            connection.closeRequest = .init(code: code, reason: reason, afterQueuedFrames: afterQueuedFrames)
        }
        lws_callback_on_writable(connection.wsi)
    }

    private func beginStopping() {
        stopping = true
        for connection in connections.values {
            requestClose(connection, code: 1001, reason: "server shutting down", afterQueuedFrames: true)
        }
        // Exit as soon as the last connection is gone (see finish), or when the grace period ends:
        // a client that does not read cannot hold the stop up.
        let grace = connections.isEmpty ? 0 : Int64(max(0, options.stopGraceMilliseconds)) * 1000
        if let context { timer?.schedule(context, afterMicroseconds: grace) }
    }

    /// Our lws timer: only used to end the loop during stop.
    func timerFired() {
        guard stopping, !exitRequested, let context else { return }
        exitRequested = true
        inbox.withLock { $0.contextAddress = nil }
        switch options.eventLoop {
        case .poll:
            // Timers run before poll() in the same lws_service call; make that poll return at once.
            lws_cancel_service(context)
        case .libev:
            // ev_run only returns once destruction starts. Called from a timer, not from a
            // connection's callback, the way lws's own signal handling does it; run() finishes it.
            lws_context_destroy(context)
        }
    }

    /// A connection left lws (closed, dropped, or destroyed with the context): forget it, and tell
    /// the handler exactly once.
    func finish(_ connection: Connection) {
        guard connections.removeValue(forKey: connection.id.rawValue) != nil else { return }
        openCount.subtract(1, ordering: .relaxed)
        if connection.kind == .chat { handler.connectionClosed(connection.id) }
        if stopping && connections.isEmpty && !exitRequested, let context {
            timer?.schedule(context, afterMicroseconds: 0)
        }
    }
}

/// Hands the outcome of context creation from the service thread back to `start()`.
final class StartupGate: Sendable {
    private let result = Mutex<Result<Int, WebSocketServerError>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func finish(_ outcome: Result<Int, WebSocketServerError>) {
        result.withLock { $0 = outcome }
        done.signal()
    }

    func wait() -> Result<Int, WebSocketServerError> {
        done.wait()
        return result.withLock { $0! }
    }
}
