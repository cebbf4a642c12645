@preconcurrency import Glibc
import CWebSockets
import Foundation

/// A small HTTP/1.1 server on libwebsockets for the load generator's upstream fixtures: it reads
/// a request (a POST with its body), lets the handler answer with a head and a body written a
/// piece at a time from a periodic tick, and reports when each stream's connection is gone (the
/// client closing first is what a benchmark of cancellation measures). One lws context, one
/// service thread; the methods here are the thread-safe way in.
///
/// Responses have no length and `Connection: close`: the body ends with the connection, as in
/// HTTP/1.0. lws 4.1 writes chunked bodies only through its stream compression, which Debian's
/// build leaves out, and writing the chunk framing ourselves would be hand-made HTTP; curl reads
/// a close-delimited body the same way. So every request opens a fresh loopback connection.
///
/// `@unchecked Sendable`: `state` and `thread` are guarded by `lifecycleLock`; `loop` is safe to
/// share (service-thread confinement plus its Mutex-guarded inbox and atomics).
public final class StreamingHTTPServer: @unchecked Sendable {
    private enum State { case idle, running, stopped }

    public let options: StreamingHTTPServerOptions
    private let loop: StreamingHTTPLoop
    private let lifecycleLock = NSLock()
    private var state = State.idle
    private var thread: pthread_t?

    public init(options: StreamingHTTPServerOptions, handler: any StreamingHTTPHandler) {
        self.options = options
        loop = StreamingHTTPLoop(options: options, handler: handler)
        lws_set_log_level(Int32(LLL_ERR | LLL_WARN), lwsClientLogEmit)
    }

    /// Creates the context on a new service thread and returns once it listens.
    public func start() throws(WebSocketClientError) {
        lifecycleLock.lock()
        defer { lifecycleLock.unlock() }
        guard state == .idle else { throw .alreadyStarted }
        var ipv4 = in_addr()
        guard inet_pton(AF_INET, options.host, &ipv4) == 1 else {
            throw .invalidOptions("\(options.host) is not a numeric IPv4 address")
        }
        guard (0...65535).contains(options.port), options.tickMicroseconds > 0, options.maxBodyBytes > 0 else {
            throw .invalidOptions("port must be 0...65535, tickMicroseconds and maxBodyBytes positive")
        }
        let startup = ClientStartupGate()
        let box = Unmanaged.passRetained(StreamingHTTPThreadStart(loop: loop, startup: startup)).toOpaque()
        var handle = pthread_t()
        let status = pthread_create(&handle, nil, { argument in
            let start = Unmanaged<StreamingHTTPThreadStart>.fromOpaque(argument!).takeRetainedValue()
            start.loop.run(reportingTo: start.startup)
            return nil
        }, box)
        guard status == 0 else {
            Unmanaged<StreamingHTTPThreadStart>.fromOpaque(box).release()
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

    /// The port listened on; 0 before `start()` succeeds.
    public var boundPort: Int { loop.listenPort.load(ordering: .acquiring) }

    /// Streams whose connection is open now.
    public var openStreams: Int { loop.openStreams.load(ordering: .relaxed) }

    /// Any thread except the service thread: drops every open stream (each gets its
    /// `streamClosed`), destroys the context and joins the thread. Idempotent.
    public func stop() {
        lifecycleLock.lock()
        defer { lifecycleLock.unlock() }
        guard state == .running, let thread else {
            state = .stopped
            return
        }
        precondition(pthread_equal(thread, pthread_self()) == 0, "StreamingHTTPServer.stop() on its own service thread")
        loop.post { $0.stopRequested = true }
        pthread_join(thread, nil)
        self.thread = nil
        state = .stopped
    }
}

private final class StreamingHTTPThreadStart {
    let loop: StreamingHTTPLoop
    let startup: ClientStartupGate
    init(loop: StreamingHTTPLoop, startup: ClientStartupGate) {
        self.loop = loop
        self.startup = startup
    }
}
