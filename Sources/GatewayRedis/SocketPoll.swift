@preconcurrency import Glibc

/// One wait of a connection thread: on its socket (if it has one), its wakeup pipe, and a deadline.
enum SocketPoll {
    struct Readiness {
        /// Data, end of file or an error is waiting: the next read reports which.
        var readable = false
        /// The socket takes more bytes, or a non-blocking connect has finished (either way).
        var writable = false
        /// Another thread called `wake()`.
        var woken = false
    }

    /// Waits until `socket` is readable (or writable, when `forWrite`), `wakeup` is written, or
    /// `deadline` passes (nil: no deadline). EINTR returns with nothing ready.
    static func wait(socket: Int32?, forWrite: Bool, wakeup: WakeupPipe,
                     until deadline: ContinuousClock.Instant?) -> Readiness {
        var descriptors = [pollfd(fd: wakeup.readDescriptor, events: Int16(POLLIN), revents: 0)]
        if let socket {
            let events = Int16(POLLIN) | (forWrite ? Int16(POLLOUT) : 0)
            descriptors.append(pollfd(fd: socket, events: events, revents: 0))
        }
        let count = poll(&descriptors, nfds_t(descriptors.count), timeoutMilliseconds(until: deadline))
        var readiness = Readiness()
        guard count > 0 else { return readiness }
        readiness.woken = descriptors[0].revents != 0
        if socket != nil {
            let events = descriptors[1].revents
            let failed = events & Int16(POLLERR | POLLHUP | POLLNVAL) != 0
            readiness.readable = events & Int16(POLLIN) != 0 || failed
            readiness.writable = events & Int16(POLLOUT) != 0 || (forWrite && failed)
        }
        return readiness
    }

    /// Rounded up, so a wait never ends just before its deadline and spins on a zero timeout.
    private static func timeoutMilliseconds(until deadline: ContinuousClock.Instant?) -> Int32 {
        guard let deadline else { return -1 }
        let remaining = deadline - .now
        guard remaining > .zero else { return 0 }
        let (seconds, attoseconds) = remaining.components
        let milliseconds = seconds * 1_000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }
}
