@preconcurrency import Glibc
import Foundation

/// The dedicated thread of one connection (a pthread, so it can be joined).
///
/// SIGPIPE is blocked on it: hiredis 0.14 writes with write(2), not send(MSG_NOSIGNAL), so a
/// write to a connection the server has closed would otherwise kill the whole process. Blocked,
/// the signal stays pending on this thread only and write(2) returns EPIPE, which hiredis reports.
///
/// @unchecked Sendable: `lock` guards `joined`; `thread` is written once in init.
final class RedisThread: @unchecked Sendable {
    private let lock = NSLock()
    private var thread = pthread_t()
    private var joined = false

    /// `name` shows in debuggers and `top -H` (15 bytes are kept).
    init(name: String, body: @escaping () -> Void) {
        let context = Unmanaged.passRetained(ThreadContext(name: name, body: body)).toOpaque()
        let status = pthread_create(&thread, nil, { raw in
            let context = Unmanaged<ThreadContext>.fromOpaque(raw!).takeRetainedValue()
            var blocked = sigset_t()
            sigemptyset(&blocked)
            sigaddset(&blocked, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &blocked, nil)
            Thread.current.name = context.name  // sets the pthread name on Linux
            context.body()
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
    }

    /// Waits for the thread to end; a no-op on the thread itself (it cannot wait for itself,
    /// e.g. `shutdown()` from a completion) and after the first call.
    func join() {
        lock.lock()
        defer { lock.unlock() }
        guard !joined, pthread_equal(pthread_self(), thread) == 0 else { return }
        joined = true
        pthread_join(thread, nil)
    }

    private final class ThreadContext {
        let name: String
        let body: () -> Void
        init(name: String, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }
}
