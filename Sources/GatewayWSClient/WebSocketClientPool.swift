@preconcurrency import Glibc
import CWebSockets
import Foundation

/// Many WebSocket client connections to one server on one lws context and one service thread:
/// the load generator's side of the wire. Connections are opened at a controlled pace after
/// `start()`; the handler sees every open, message and close on the service thread. The methods
/// here are the thread-safe way in.
///
/// `@unchecked Sendable`: `state` and `thread` are guarded by `lifecycleLock`; `loop` is safe to
/// share (service-thread confinement plus its Mutex-guarded inbox and atomic counters).
public final class WebSocketClientPool: @unchecked Sendable {
    private enum State { case idle, running, stopped }

    public let options: WebSocketClientOptions
    private let loop: ClientServiceLoop
    private let lifecycleLock = NSLock()
    private var state = State.idle
    private var thread: pthread_t?

    public init(options: WebSocketClientOptions, handler: any WebSocketClientHandler) {
        self.options = options
        loop = ClientServiceLoop(options: options, handler: handler)
        // A process-wide lws setting: warnings and errors only, through our emitter.
        lws_set_log_level(Int32(LLL_ERR | LLL_WARN), lwsClientLogEmit)
    }

    /// Creates the context on a new service thread and returns once connecting has begun.
    public func start() throws(WebSocketClientError) {
        lifecycleLock.lock()
        defer { lifecycleLock.unlock() }
        guard state == .idle else { throw .alreadyStarted }
        try Self.validate(options)
        let startup = ClientStartupGate()
        let box = Unmanaged.passRetained(ClientThreadStart(loop: loop, startup: startup)).toOpaque()
        var handle = pthread_t()
        let status = pthread_create(&handle, nil, { argument in
            let start = Unmanaged<ClientThreadStart>.fromOpaque(argument!).takeRetainedValue()
            start.loop.run(reportingTo: start.startup)
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<ClientThreadStart>.fromOpaque(box).release()
            throw .threadStartFailed(status)
        }
        switch startup.wait() {
        case .success:
            thread = handle
            state = .running
        case .failure(let error):
            pthread_join(handle, nil)
            state = .stopped
            throw error
        }
    }

    public var counters: ClientCounters { loop.counters.snapshot }

    /// The libwebsockets version this process runs, for benchmark reports.
    public static var libraryVersion: String { String(cString: lws_get_library_version()) }

    /// Any thread: send these frames, each on its connection, in order. Frames for connections
    /// that are not open (yet, or any more) are dropped.
    public func send(_ frames: [(connection: Int, frame: [UInt8])]) {
        guard !frames.isEmpty else { return }
        loop.post { $0.sends.append(contentsOf: frames) }
    }

    /// Any thread except the service thread: closes every open connection with 1000, waits up to
    /// `stopGraceMilliseconds` for the handshakes, destroys the context and joins the thread.
    /// `clientClosed` has been called for every started connection when this returns. Idempotent.
    public func stop() {
        lifecycleLock.lock()
        defer { lifecycleLock.unlock() }
        guard state == .running, let thread else {
            state = .stopped
            return
        }
        precondition(pthread_equal(thread, pthread_self()) == 0, "WebSocketClientPool.stop() on its own service thread")
        loop.post { $0.stopRequested = true }
        pthread_join(thread, nil)
        self.thread = nil
        state = .stopped
    }

    private static func validate(_ options: WebSocketClientOptions) throws(WebSocketClientError) {
        guard (1...65535).contains(options.port) else { throw .invalidOptions("port must be 1...65535") }
        guard options.path.hasPrefix("/") else { throw .invalidOptions("path must start with /") }
        guard options.connections >= 0 else { throw .invalidOptions("connections must not be negative") }
        guard options.maxPendingConnects > 0 else { throw .invalidOptions("maxPendingConnects must be positive") }
        guard options.connectsPerSecond >= 0 else { throw .invalidOptions("connectsPerSecond must not be negative") }
        guard (256...65536).contains(options.receiveChunkBytes) else {
            throw .invalidOptions("receiveChunkBytes must be 256...65536")
        }
        for address in [options.host] + (options.sourceAddress.map { [$0] } ?? []) {
            var ipv4 = in_addr()
            guard inet_pton(AF_INET, address, &ipv4) == 1 else {
                throw .invalidOptions("\(address) is not a numeric IPv4 address (no DNS on the service thread)")
            }
        }
    }
}

/// What the new service thread needs, passed through pthread_create's single pointer.
private final class ClientThreadStart {
    let loop: ClientServiceLoop
    let startup: ClientStartupGate
    init(loop: ClientServiceLoop, startup: ClientStartupGate) {
        self.loop = loop
        self.startup = startup
    }
}
