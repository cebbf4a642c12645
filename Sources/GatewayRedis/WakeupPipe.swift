@preconcurrency import Glibc

/// A self-pipe: any thread writes a byte to wake the connection thread out of poll(2), where it
/// waits on its socket and this pipe at once.
///
/// @unchecked Sendable: both descriptors are set once in init and closed in deinit, when no
/// thread can hold the pipe any more; write(2) and read(2) on a pipe are safe from any thread.
final class WakeupPipe: @unchecked Sendable {
    let readDescriptor: Int32
    private let writeDescriptor: Int32

    init() {
        var descriptors: [Int32] = [-1, -1]
        // pipe2(2) is not imported (it needs _GNU_SOURCE), so the flags are set one by one.
        precondition(pipe(&descriptors) == 0, "pipe failed: \(String(cString: strerror(errno)))")
        for descriptor in descriptors {
            // Non-blocking: a full pipe already means "wake up", and draining stops at empty.
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)  // not inherited by child processes
        }
        readDescriptor = descriptors[0]
        writeDescriptor = descriptors[1]
    }

    deinit {
        close(readDescriptor)
        close(writeDescriptor)
    }

    func wake() {
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)  // EAGAIN: the pipe is full, so the reader wakes anyway
    }

    /// Connection thread: empties the pipe so the next poll(2) sleeps until the next `wake()`.
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(readDescriptor, &buffer, buffer.count) > 0 {}
    }
}
