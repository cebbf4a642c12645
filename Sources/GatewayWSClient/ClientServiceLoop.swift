@preconcurrency import Glibc
import CWebSockets
import Dispatch
import Synchronization

/// The client's lws service thread and everything it owns: the context, the slots, the write
/// buffer, the connect pacing. `@unchecked Sendable` because every stored property except `inbox`
/// (a Mutex) and `counters` (atomics) is touched only on the service thread, which runs `run()`;
/// other threads reach it only through `inbox` plus `lws_cancel_service`.
final class ClientServiceLoop: ClientTimerOwner, @unchecked Sendable {
    let options: WebSocketClientOptions
    let handler: any WebSocketClientHandler

    // Shared with other threads.
    let inbox = Mutex(ClientInbox())
    let counters = ClientCounterSet()

    // Service thread only.
    var context: OpaquePointer?
    var slots: [ClientSlot]
    var writeBuffer = ClientWriteBuffer()
    private(set) var stopping = false
    private var resources: ClientContextResources?
    private var exitRequested = false
    private var timer: ClientTimer?
    private var nextToStart = 0
    var pendingConnects = 0
    private var activeConnections = 0
    private var connectStartNanoseconds: UInt64 = 0
    private var toppingUp = false

    init(options: WebSocketClientOptions, handler: any WebSocketClientHandler) {
        self.options = options
        self.handler = handler
        slots = Array(repeating: ClientSlot(), count: options.connections)
    }

    // MARK: - Any thread

    /// Queues a request and wakes the service thread for it; dropped when the loop is not running.
    func post(_ change: (inout ClientInbox) -> Void) {
        inbox.withLock { box in
            guard let address = box.contextAddress, let context = OpaquePointer(bitPattern: address) else { return }
            change(&box)
            if !box.cancelPending {
                box.cancelPending = true
                // Under the lock, so the context cannot be destroyed in between.
                lws_cancel_service(context)
            }
        }
    }

    // MARK: - Service thread

    /// The thread body: create the context, connect at the planned pace, serve until stopped,
    /// destroy the context (which reports every connection still open), free what lws pointed into.
    func run(reportingTo startup: ClientStartupGate) {
        let resources = ClientContextResources(options: options)
        guard let context = createContext(resources) else {
            resources.release()
            startup.finish(.failure(.contextCreationFailed(eventLoop: options.eventLoop)))
            return
        }
        self.context = context
        self.resources = resources
        let timer = ClientTimer(owner: self)
        self.timer = timer
        inbox.withLock { $0.contextAddress = UInt(bitPattern: context) }
        let tick = startTick()
        startup.finish(.success(()))
        connectStartNanoseconds = DispatchTime.now().uptimeNanoseconds
        topUp()

        while !exitRequested {
            if lws_service(context, 0) < 0 { break }
        }
        tick.cancel()
        inbox.withLock { $0.contextAddress = nil }
        lws_context_destroy(context)
        self.context = nil
        for index in slots.indices where slots[index].phase == .connecting || slots[index].phase == .open {
            finish(index, reason: .dropped)  // lws reports closes from inside destroy; this is the backstop
        }
        timer.deallocate()
        self.timer = nil
        self.resources = nil
        resources.release()
    }

    /// Wakes the service thread every few ms while connections are still to be started (pacing
    /// needs a clock, and new attempts start as earlier ones finish) or a stop is under way. It
    /// also bounds how late lws 4.1's libev loop runs our timer, as the server's tick does.
    private func startTick() -> any DispatchSourceTimer {
        let tick = DispatchSource.makeTimerSource(queue: .global(qos: .userInitiated))
        tick.schedule(deadline: .now() + .milliseconds(5), repeating: .milliseconds(5), leeway: .milliseconds(1))
        tick.setEventHandler { [weak self] in
            guard let self, self.counters.needsTick.load(ordering: .relaxed) else { return }
            self.post { _ in }
        }
        tick.resume()
        return tick
    }

    private func createContext(_ resources: ClientContextResources) -> OpaquePointer? {
        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN
        info.protocols = UnsafePointer(resources.protocols)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        info.gid = -1
        info.uid = -1
        var flags: UInt64 = 0
        if options.eventLoop == .libev { flags |= UInt64(LWS_SERVER_OPTION_LIBEV) }
        info.options = flags
        // lws's libev loop installs a SIGINT watcher; whoever owns the process owns its signals.
        var savedSigint = sigaction()
        sigaction(SIGINT, nil, &savedSigint)
        defer { sigaction(SIGINT, &savedSigint, nil) }
        return lws_create_context(&info)
    }

    /// `LWS_CALLBACK_EVENT_WAIT_CANCELLED`: apply what other threads asked for, start due connects.
    func drainInbox() {
        let (sends, stopRequested) = inbox.withLock { box in
            let sends = box.sends
            box.sends = []
            box.cancelPending = false
            return (sends, box.stopRequested)
        }
        for (connection, frame) in sends where slots.indices.contains(connection) {
            guard slots[connection].phase == .open, let wsi = slots[connection].wsi else { continue }
            slots[connection].enqueue([frame])
            lws_callback_on_writable(wsi)
        }
        if stopRequested && !stopping { beginStopping() }
        topUp()
    }

    /// Starts every connection that is due: within `connectsPerSecond` since the first one, and
    /// within `maxPendingConnects` attempts in flight.
    func topUp() {
        guard !stopping, !toppingUp, context != nil, nextToStart < slots.count else { return }
        toppingUp = true  // a connect that fails at once calls back into here: no recursion
        defer { toppingUp = false }
        var allowed = slots.count
        if options.connectsPerSecond > 0 {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - connectStartNanoseconds) / 1e9
            allowed = min(slots.count, Int(elapsed * options.connectsPerSecond) + 1)
        }
        while nextToStart < allowed && pendingConnects < options.maxPendingConnects {
            connect(nextToStart)
            nextToStart += 1
        }
        if nextToStart == slots.count { counters.needsTick.store(false, ordering: .relaxed) }
    }

    private func connect(_ index: Int) {
        guard let context, let resources else { return }
        var info = lws_client_connect_info()
        info.context = context
        info.address = UnsafePointer(resources.address)
        info.port = Int32(options.port)
        info.path = UnsafePointer(resources.path)
        info.host = UnsafePointer(resources.hostHeader)
        info.origin = UnsafePointer(resources.hostHeader)
        info.protocol = resources.subprotocol.map { UnsafePointer($0) }
        info.local_protocol_name = UnsafePointer(resources.localProtocol)
        info.iface = resources.sourceAddress.map { UnsafePointer($0) }
        info.opaque_user_data = UnsafeMutableRawPointer(bitPattern: index + 1)
        slots[index].phase = .connecting
        pendingConnects += 1
        activeConnections += 1
        counters.started.add(1, ordering: .relaxed)
        // lws copies the connect strings into the new wsi (its client stash): a temporary will do.
        let wsi: OpaquePointer?
        if let path = handler.path(for: index) {
            wsi = path.withCString { path in
                info.path = path
                return lws_client_connect_via_info(&info)
            }
        } else {
            wsi = lws_client_connect_via_info(&info)
        }
        guard slots[index].phase == .connecting else { return }  // failed (and was reported) inside
        if let wsi {
            slots[index].wsi = wsi
        } else {
            finish(index, reason: .connectFailed("lws_client_connect_via_info refused the connection"))
        }
    }

    private func beginStopping() {
        stopping = true
        counters.needsTick.store(true, ordering: .relaxed)
        for index in slots.indices where slots[index].phase == .open {
            if slots[index].closeCode == nil { slots[index].closeCode = 1000 }
            if let wsi = slots[index].wsi { lws_callback_on_writable(wsi) }
        }
        // Exit once every connection is gone (see finish), or when the grace period ends.
        let grace = activeConnections == 0 ? 0 : Int64(max(0, options.stopGraceMilliseconds)) * 1000
        if let context { timer?.schedule(context, afterMicroseconds: grace) }
    }

    /// Our lws timer: only used to end the loop during stop.
    func timerFired() {
        guard stopping, !exitRequested, let context else { return }
        exitRequested = true
        inbox.withLock { $0.contextAddress = nil }
        switch options.eventLoop {
        case .poll:
            lws_cancel_service(context)  // timers run before poll() in the same lws_service call
        case .libev:
            // ev_run returns only once destruction starts; from a timer, as lws's own signal handling does.
            lws_context_destroy(context)
        }
    }

    /// A connection failed or closed: report it exactly once and free its slot's buffers.
    func finish(_ index: Int, reason: ClientCloseReason) {
        let phase = slots[index].phase
        guard phase == .connecting || phase == .open else { return }
        if phase == .connecting { pendingConnects -= 1 } else { counters.open.subtract(1, ordering: .relaxed) }
        if case .connectFailed = reason { counters.failed.add(1, ordering: .relaxed) }
        activeConnections -= 1
        slots[index] = ClientSlot(phase: .finished)
        counters.finished.add(1, ordering: .relaxed)
        handler.clientClosed(index, reason: reason)
        if stopping && activeConnections == 0 && !exitRequested, let context {
            timer?.schedule(context, afterMicroseconds: 0)
        } else {
            topUp()
        }
    }
}

/// Hands the outcome of context creation from the service thread back to `start()`.
final class ClientStartupGate: Sendable {
    private let result = Mutex<Result<Void, WebSocketClientError>?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func finish(_ outcome: Result<Void, WebSocketClientError>) {
        result.withLock { $0 = outcome }
        done.signal()
    }

    func wait() -> Result<Void, WebSocketClientError> {
        done.wait()
        return result.withLock { $0! }
    }
}
