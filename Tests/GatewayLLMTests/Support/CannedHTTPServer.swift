@preconcurrency import Glibc
import Foundation

/// Answers the first connection on 127.0.0.1 with fixed bytes and closes it: for answers the
/// scripted upstream never gives, such as a head with no body.
final class CannedHTTPServer: Sendable {
    let port: Int
    private let fd: Int32

    init(response: String) throws {
        let (fd, port) = try Loopback.boundSocket()
        guard listen(fd, 4) == 0 else {
            let code = errno
            close(fd)
            throw Loopback.SocketError(call: "listen", code: code)
        }
        self.fd = fd
        self.port = port
        let bytes = Array(response.utf8)
        Thread { Self.serveOnce(listener: fd, response: bytes) }.start()
    }

    private static func serveOnce(listener: Int32, response: [UInt8]) {
        let connection = accept(listener, nil, nil)
        guard connection >= 0 else { return }  // the listener was shut down
        defer { close(connection) }
        // Read the request head first, so the client never sees its request refused by a reset.
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)) {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            request.append(contentsOf: buffer[..<count])
        }
        _ = response.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))  // wakes an accept() still waiting
        close(fd)
    }
}
