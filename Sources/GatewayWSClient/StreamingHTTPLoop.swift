@preconcurrency import Glibc
import CWebSockets
import Dispatch
import Synchronization

/// The service thread of a `StreamingHTTPServer` and everything it owns: the context, the streams,
/// the write buffer. `@unchecked Sendable` because every stored property except `inbox` (a Mutex)
/// and the atomics is touched only on the service thread, which runs `run()`; other threads reach
/// it through `inbox` plus `lws_cancel_service`.
final class StreamingHTTPLoop: ClientTimerOwner, @unchecked Sendable {
    /// One request and its response, from the request line to the connection's close.
    struct Stream {
        var wsi: OpaquePointer
        var method: StreamingHTTPMethod
        var path: String
        var body: [UInt8] = []
        /// The handler has seen the request (and will hear of the close).
        var arrived = false
        var pending: [UInt8] = []
        var final = false
        var finalSent = false
    }

    struct Inbox {
        var contextAddress: UInt?
        var tickDue = false
        var stopRequested = false
        var cancelPending = false
    }

    let options: StreamingHTTPServerOptions
    let handler: any StreamingHTTPHandler
    let inbox = Mutex(Inbox())
    let listenPort = Atomic<Int>(0)
    let openStreams = Atomic<Int>(0)

    // Service thread only.
    private var context: OpaquePointer?
    var streams: [Int: Stream] = [:]
    private var nextStream = 1
    var writeBuffer = ClientWriteBuffer()
    private var timer: ClientTimer?
    private var stopping = false
    private var exitRequested = false

    init(options: StreamingHTTPServerOptions, handler: any StreamingHTTPHandler) {
        self.options = options
        self.handler = handler
    }

    // MARK: - Any thread

    func post(_ change: (inout Inbox) -> Void) {
        inbox.withLock { box in
            guard let address = box.contextAddress, let context = OpaquePointer(bitPattern: address) else { return }
            change(&box)
            if !box.cancelPending {
                box.cancelPending = true
                lws_cancel_service(context)  // under the lock: the context cannot go away in between
            }
        }
    }

    // MARK: - Service thread

    func run(reportingTo startup: ClientStartupGate) {
        let protocols = UnsafeMutablePointer<lws_protocols>.allocate(capacity: 2)
        protocols.initialize(repeating: lws_protocols(), count: 2)
        let name = strdup("streaming-http")!
        let host = strdup(options.host)!
        defer {
            protocols.deinitialize(count: 2)
            protocols.deallocate()
            free(name)
            free(host)
        }
        protocols[0].name = UnsafePointer(name)
        protocols[0].callback = lwsStreamingHTTPCallback
        protocols[0].rx_buffer_size = 16 * 1024
        protocols[0].tx_packet_size = 128 * 1024
        guard let context = createContext(protocols: protocols, host: host) else {
            startup.finish(.failure(.contextCreationFailed(eventLoop: options.eventLoop)))
            return
        }
        self.context = context
        let timer = ClientTimer(owner: self)
        self.timer = timer
        listenPort.store(Int(lws_get_vhost_listen_port(lws_get_vhost_by_name(context, "default"))), ordering: .releasing)
        inbox.withLock { $0.contextAddress = UInt(bitPattern: context) }
        let tick = startTick()
        startup.finish(.success(()))

        while !exitRequested {
            if lws_service(context, 0) < 0 { break }
        }
        tick.cancel()
        inbox.withLock { $0.contextAddress = nil }
        lws_context_destroy(context)
        self.context = nil
        for id in Array(streams.keys) { finish(id) }  // lws reports closes from inside destroy; the backstop
        timer.deallocate()
        self.timer = nil
    }

    private func createContext(protocols: UnsafeMutablePointer<lws_protocols>, host: UnsafeMutablePointer<CChar>) -> OpaquePointer? {
        var info = lws_context_creation_info()
        info.port = Int32(options.port)
        info.iface = UnsafePointer(host)
        info.protocols = UnsafePointer(protocols)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        info.gid = -1
        info.uid = -1
        var flags = UInt64(LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND) | UInt64(LWS_SERVER_OPTION_DISABLE_IPV6)
        if options.eventLoop == .libev { flags |= UInt64(LWS_SERVER_OPTION_LIBEV) }
        info.options = flags
        var savedSigint = sigaction()  // lws's libev loop watches SIGINT; the process owns its signals
        sigaction(SIGINT, nil, &savedSigint)
        defer { sigaction(SIGINT, &savedSigint, nil) }
        return lws_create_context(&info)
    }

    /// The handler's tick, through the inbox so it runs on the service thread; skipped while no
    /// stream is open (an idle fixture costs one timer wake per tick, nothing more).
    private func startTick() -> any DispatchSourceTimer {
        let tick = DispatchSource.makeTimerSource(queue: .global(qos: .userInitiated))
        let interval = DispatchTimeInterval.microseconds(options.tickMicroseconds)
        tick.schedule(deadline: .now() + interval, repeating: interval, leeway: .microseconds(100))
        tick.setEventHandler { [weak self] in
            guard let self else { return }
            // The tick also bounds how late lws 4.1's libev loop runs the stop timer.
            if self.openStreams.load(ordering: .relaxed) > 0 || self.stopping { self.post { $0.tickDue = true } }
        }
        tick.resume()
        return tick
    }

    /// `LWS_CALLBACK_EVENT_WAIT_CANCELLED`.
    func drainInbox() {
        let (tickDue, stopRequested) = inbox.withLock { box in
            defer {
                box.tickDue = false
                box.cancelPending = false
            }
            return (box.tickDue, box.stopRequested)
        }
        if stopRequested && !stopping {
            stopping = true
            if let context { timer?.schedule(context, afterMicroseconds: 0) }
            return
        }
        guard tickDue, !streams.isEmpty else { return }
        var output = StreamingHTTPOutput()
        handler.tick(&output)
        for write in output.writes { queue(write.bytes, on: write.stream, final: write.final) }
    }

    func queue(_ bytes: [UInt8], on id: Int, final: Bool) {
        // Only the wsi is copied out, so the pending bytes are appended in place.
        guard let wsi = streams[id].flatMap({ $0.arrived && !$0.final ? $0.wsi : nil }) else { return }
        streams[id]!.pending.append(contentsOf: bytes)
        streams[id]!.final = final
        lws_callback_on_writable(wsi)
    }

    /// Our lws timer: only used to end the loop.
    func timerFired() {
        guard stopping, !exitRequested, let context else { return }
        exitRequested = true
        inbox.withLock { $0.contextAddress = nil }
        switch options.eventLoop {
        case .poll: lws_cancel_service(context)
        case .libev: lws_context_destroy(context)  // ev_run returns once destruction starts
        }
    }

    func begin(_ wsi: OpaquePointer, method: StreamingHTTPMethod, path: String) -> Int {
        let id = nextStream
        nextStream += 1
        streams[id] = Stream(wsi: wsi, method: method, path: path)
        lws_set_opaque_user_data(wsi, UnsafeMutableRawPointer(bitPattern: id))
        openStreams.add(1, ordering: .relaxed)
        return id
    }

    /// The connection is gone: tell the handler once, if it saw the request.
    func finish(_ id: Int) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        lws_set_opaque_user_data(stream.wsi, nil)
        openStreams.subtract(1, ordering: .relaxed)
        if stream.arrived {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            handler.streamClosed(id, completed: stream.finalSent, atMicroseconds: now.tv_sec * 1_000_000 + now.tv_nsec / 1000)
        }
    }
}
