@preconcurrency import Glibc
import CCurl
import CGatewayShims.Curl
import Foundation

/// Streaming HTTP client: one libcurl multi handle driven by one dedicated thread, shared by any
/// number of concurrent transfers (connections to the same upstream are reused once a transfer
/// completes).
///
/// `start`, `cancel` and `shutdown` may be called from any thread; they queue a command and wake
/// the curl thread. All `HTTPStreamHandler` callbacks run on the curl thread.
///
/// Call `shutdown()` before dropping the last reference (deinit does it as a fallback): it aborts
/// every transfer (each handler gets `.aborted`) and joins the thread.
public final class HTTPStreamClient: Sendable {
    private let inbox: CurlInbox
    private let thread: CurlThread

    /// `name` is the thread's name in debuggers and `top -H` (15 bytes at most are kept).
    public init(name: String = "curl-streams") {
        CurlGlobal.initializeOnce()
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        inbox = CurlInbox(multi: multi)
        thread = CurlThread(name: name, loop: CurlLoop(multi: multi, inbox: inbox))
    }

    deinit { shutdown() }

    /// Starts `request`. If the client is already shut down, `handler.didComplete(.failure(.aborted))`
    /// is called at once on the calling thread.
    @discardableResult
    public func start(_ request: HTTPStreamRequest, handler: any HTTPStreamHandler) -> HTTPTransferID {
        guard let id = inbox.submitStart(request, handler: handler) else {
            handler.didComplete(.failure(.aborted))
            return HTTPTransferID(rawValue: 0)
        }
        return id
    }

    /// Aborts a transfer and closes its connection; its handler gets `.aborted` (unless it had
    /// already completed). Returns at once: the abort happens on the curl thread.
    public func cancel(_ id: HTTPTransferID) {
        inbox.submitCancel(id)
    }

    /// Aborts every transfer and stops the curl thread; waits for it unless called on it. Idempotent.
    public func shutdown() {
        inbox.close()
        thread.join()
    }
}

/// Commands from any thread to the curl thread.
/// @unchecked Sendable: `lock` guards `commands`, `nextID` and `closed`; `multi` is only used here
/// for `curl_multi_wakeup`, which libcurl allows from any thread, and only while not `closed`
/// (checked under `lock`), because the curl thread destroys the multi handle after seeing `closed`.
final class CurlInbox: @unchecked Sendable {
    enum Command {
        case start(HTTPTransferID, HTTPStreamRequest, any HTTPStreamHandler)
        case cancel(HTTPTransferID)
    }

    private let lock = NSLock()
    private let multi: UnsafeMutableRawPointer
    private var commands: [Command] = []
    private var nextID: UInt64 = 1
    private var closed = false

    init(multi: UnsafeMutableRawPointer) { self.multi = multi }

    func submitStart(_ request: HTTPStreamRequest, handler: any HTTPStreamHandler) -> HTTPTransferID? {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return nil }
        let id = HTTPTransferID(rawValue: nextID)
        nextID += 1
        commands.append(.start(id, request, handler))
        curl_multi_wakeup(multi)
        return id
    }

    func submitCancel(_ id: HTTPTransferID) {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        commands.append(.cancel(id))
        curl_multi_wakeup(multi)
    }

    /// Asks the curl thread to abort everything and exit.
    func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        curl_multi_wakeup(multi)
    }

    /// Curl thread: the queued commands, and whether to stop after applying them.
    func take() -> (commands: [Command], closing: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let taken = commands
        commands.removeAll()
        return (taken, closed)
    }
}

/// The dedicated curl thread (pthread, so it can be joined).
/// @unchecked Sendable: `lock` guards `joined`; `thread` is written once in init.
final class CurlThread: @unchecked Sendable {
    private let lock = NSLock()
    private var thread = pthread_t()
    private var joined = false

    init(name: String, loop: CurlLoop) {
        let context = Unmanaged.passRetained(ThreadContext(name: name, loop: loop)).toOpaque()
        let status = pthread_create(&thread, nil, { raw in
            let context = Unmanaged<ThreadContext>.fromOpaque(raw!).takeRetainedValue()
            Thread.current.name = context.name  // sets the pthread name on Linux (15 bytes kept)
            context.loop.run()
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
    }

    /// Waits for the thread to end; a no-op on the curl thread itself (it cannot wait for itself)
    /// and after the first call.
    func join() {
        lock.lock()
        defer { lock.unlock() }
        guard !joined, pthread_equal(pthread_self(), thread) == 0 else { return }
        joined = true
        pthread_join(thread, nil)
    }

    private final class ThreadContext {
        let name: String
        let loop: CurlLoop
        init(name: String, loop: CurlLoop) {
            self.name = name
            self.loop = loop
        }
    }
}

/// `curl_global_init` must run once before any other curl call, and not concurrently with any.
enum CurlGlobal {
    private static let initialized: Bool = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    }()

    static func initializeOnce() {
        precondition(initialized, "curl_global_init failed")
    }
}
