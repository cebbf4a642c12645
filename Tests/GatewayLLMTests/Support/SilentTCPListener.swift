@preconcurrency import Glibc

/// A listening socket on 127.0.0.1 that never accepts and never answers. The kernel completes the
/// handshake for connections waiting in the backlog, so a client connects, sends its request and
/// then hears nothing: an upstream that died after accepting.
final class SilentTCPListener: Sendable {
    let port: Int
    private let fd: Int32

    init() throws {
        let (fd, port) = try Loopback.boundSocket()
        guard listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw Loopback.SocketError(call: "listen", code: code)
        }
        self.fd = fd
        self.port = port
    }

    deinit { close(fd) }
}
