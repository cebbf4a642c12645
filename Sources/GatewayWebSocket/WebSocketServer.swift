@preconcurrency import Glibc
import CWebSockets
import Foundation
import GatewayCore

/// The libwebsockets server: one port for the chat WebSocket, the optional echo WebSocket, the
/// dynamic HTTP paths and the static files. All lws work happens on one service thread
/// (`ServiceLoop`); the methods here are the thread-safe way in.
///
/// `@unchecked Sendable`: `state` and `thread` are guarded by `lifecycleLock`; `loop` is itself
/// safe to share (service-thread confinement plus its Mutex-guarded inbox and atomics).
public final class WebSocketServer: @unchecked Sendable {
    private enum State { case idle, running, stopped }

    public let options: WebSocketServerOptions
    private let loop: ServiceLoop
    /// Held for the whole of start() and stop(), so they never interleave and a second stop()
    /// returns only once the first has finished.
    private let lifecycleLock = NSLock()
    private var state = State.idle
    private var thread: pthread_t?

    public init(options: WebSocketServerOptions, handler: any WebSocketServerHandler) {
        self.options = options
        self.loop = ServiceLoop(options: options, handler: handler)
        // lws logs to stderr through us, warnings and errors only. A process-wide setting.
        lws_set_log_level(Int32(LLL_ERR | LLL_WARN), lwsLogEmit)
    }

    /// Creates the lws context on a new service thread, binds, and returns once it is listening.
    public func start() throws(WebSocketServerError) {
        lifecycleLock.lock()
        defer { lifecycleLock.unlock() }
        guard state == .idle else { throw .alreadyStarted }
        try Self.validate(options)

        let startup = StartupGate()
        let box = Unmanaged.passRetained(ThreadStart(loop: loop, startup: startup)).toOpaque()
        var handle = pthread_t()
        let status = pthread_create(&handle, nil, { argument in
            let start = Unmanaged<ThreadStart>.fromOpaque(argument!).takeRetainedValue()
            start.loop.run(reportingTo: start.startup)
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<ThreadStart>.fromOpaque(box).release()
            throw .threadStartFailed(status)
        }
        switch startup.wait() {
        case .success:
            thread = handle
            state = .running
        case .failure(let error):
            pthread_join(handle, nil)  // the thread has already returned
            state = .stopped
            throw error
        }
    }

    /// The port actually bound (useful with `options.port == 0`); 0 before `start()` succeeds.
    public var boundPort: Int { loop.listenPort.load(ordering: .acquiring) }

    /// Open WebSocket connections (chat and echo). Any thread.
    public var connectionCount: Int { loop.openCount.load(ordering: .relaxed) }

    /// Any thread: these connections have something to send. The service thread will ask the
    /// handler's `nextOutbound` for each one that is still open. Unknown or closed ids are ignored.
    public func wake<S: Sequence>(_ connections: S) where S.Element == ConnectionID {
        loop.post { $0.wakes.append(contentsOf: connections) }
    }

    /// Any thread: close this connection now with `code` and `reason` (at most 123 bytes), ahead of
    /// any queued frames. `connectionClosed` follows once the close handshake is done.
    public func close(_ connection: ConnectionID, code: UInt16, reason: String) {
        loop.post { $0.closes.append((connection, code, reason)) }
    }

    /// Any thread except the service thread (i.e. not from a handler callback): closes every
    /// connection with 1001, waits up to `stopGraceMilliseconds` for the close handshakes, ends the
    /// loop, destroys the context and joins the thread. `connectionClosed` is called for every
    /// chat connection before this returns. Idempotent.
    public func stop() {
        lifecycleLock.lock()
        defer { lifecycleLock.unlock() }
        guard state == .running, let thread else {
            state = .stopped
            return
        }
        precondition(pthread_equal(thread, pthread_self()) == 0,
                     "WebSocketServer.stop() called on its own service thread; it would wait for itself")
        loop.post { $0.stopRequested = true }
        pthread_join(thread, nil)
        self.thread = nil
        state = .stopped
    }

    private static func validate(_ options: WebSocketServerOptions) throws(WebSocketServerError) {
        guard (0...65535).contains(options.port) else { throw .invalidOptions("port must be 0...65535") }
        guard options.chatPath.hasPrefix("/"), options.echoPath.hasPrefix("/") else {
            throw .invalidOptions("chatPath and echoPath must start with /")
        }
        guard !options.subprotocol.isEmpty else { throw .invalidOptions("subprotocol must not be empty") }
        guard options.maxMessageBytes > 0, options.echoMaxMessageBytes > 0 else {
            throw .invalidOptions("message limits must be positive")
        }
        guard (256...65536).contains(options.receiveChunkBytes) else {
            throw .invalidOptions("receiveChunkBytes must be 256...65536")
        }
        if options.heartbeatSeconds > 0 {
            // lws pings at heartbeatSeconds and hangs up hangupSeconds after the last sign of life;
            // with hangup <= heartbeat it would hang up healthy connections without ever pinging.
            guard options.hangupSeconds > options.heartbeatSeconds, options.hangupSeconds <= 65535 else {
                throw .invalidOptions("hangupSeconds must be greater than heartbeatSeconds and at most 65535")
            }
        }
        for path in options.dynamicPaths where !path.hasPrefix("/") || path.utf8.count > 255 {
            throw .invalidOptions("dynamic path \(path) must start with / and be at most 255 bytes")
        }
        if let root = options.staticRoot {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw .invalidOptions("staticRoot \(root) is not a directory")
            }
        }
    }
}

/// What the new service thread needs, passed through pthread_create's single pointer.
private final class ThreadStart {
    let loop: ServiceLoop
    let startup: StartupGate
    init(loop: ServiceLoop, startup: StartupGate) {
        self.loop = loop
        self.startup = startup
    }
}
