@preconcurrency import Glibc
import Foundation

/// A redis-server of the test's own on 127.0.0.1 and a unix socket, with no persistence, which
/// the test can kill, restart on the same port, pause (SIGSTOP) and resume.
///
/// redis-server cannot listen on port 0 and report the port, so a free port is picked first.
/// A watchdog `sh` whose stdin we hold kills the server if the test process dies (stdin closes
/// then), so no redis-server outlives the tests. The server is our own child, not the
/// watchdog's: children here may inherit a blocked SIGCHLD (Swift's worker threads block
/// signals), and a shell's `wait` then never returns.
public final class RedisTestServer {
    public let port: Int
    public let password: String?
    /// More `--option value` pairs for redis-server.
    public let extraArguments: [String]
    public let socketPath: String
    private let scratch: URL
    private var server: Process?
    private var watchdog: Process?
    private var watchdogStdin: Pipe?

    public struct StartFailed: Error, CustomStringConvertible {
        public let description: String
    }

    public init(password: String? = nil, extraArguments: [String] = []) throws {
        port = try Self.unusedPort()
        self.password = password
        self.extraArguments = extraArguments
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("redis-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        socketPath = scratch.appendingPathComponent("redis.sock").path
        try start()
    }

    /// `redis://` URL of the TCP port, with the password when there is one.
    public var url: String { "redis://\(password.map { ":\($0)@" } ?? "")127.0.0.1:\(port)" }

    /// Starts the server (again, on the same port) and waits until it answers PING.
    public func start() throws {
        precondition(server == nil, "already running")
        guard let executable = Self.findExecutable("redis-server") else {
            throw StartFailed(description: "redis-server is not installed: run scripts/install-deps.sh --test")
        }
        var arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--unixsocket", socketPath,
                         "--save", "", "--appendonly", "no", "--daemonize", "no",
                         "--dir", scratch.path, "--logfile", scratch.appendingPathComponent("redis.log").path]
        if let password { arguments += ["--requirepass", password] }
        arguments += extraArguments
        let server = Process()
        server.executableURL = URL(fileURLWithPath: executable)
        server.arguments = arguments
        server.standardInput = FileHandle.nullDevice
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        self.server = server

        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
        watchdog.arguments = ["-c", "read -r _; kill -KILL \"$1\"", "sh", "\(server.processIdentifier)"]
        let stdin = Pipe()
        watchdog.standardInput = stdin
        try watchdog.run()
        self.watchdog = watchdog
        watchdogStdin = stdin
        try waitForPing()
    }

    /// SIGKILL, like a crash; returns once the process is gone and its port is free.
    public func kill() {
        guard let server else { return }
        _ = Glibc.kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
        self.server = nil
        if let watchdog {
            _ = Glibc.kill(watchdog.processIdentifier, SIGKILL)  // its job is done; it must not kill a reused pid
            watchdog.waitUntilExit()
        }
        watchdog = nil
        watchdogStdin = nil
    }

    /// SIGSTOP: connections stay open and the kernel still accepts new ones, but nothing answers.
    public func pause() {
        if let server { _ = Glibc.kill(server.processIdentifier, SIGSTOP) }
    }

    public func resume() {
        if let server { _ = Glibc.kill(server.processIdentifier, SIGCONT) }
    }

    /// For teardown: kills the server and removes its scratch directory.
    public func stop() {
        kill()
        try? FileManager.default.removeItem(at: scratch)
    }

    /// Runs redis-cli against this server: a view of it independent of the client under test.
    public func cli(_ command: [String]) throws -> String {
        var arguments = ["-h", "127.0.0.1", "-p", "\(port)"]
        if let password { arguments += ["-a", password, "--no-auth-warning"] }
        return try Self.run("redis-cli", arguments + command)
    }

    private func waitForPing() throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if (try? cli(["PING"])) == "PONG" { return }
            guard server?.isRunning == true else { break }
            usleep(10_000)
        }
        let log = (try? String(contentsOf: scratch.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
        kill()
        throw StartFailed(description: "redis-server did not answer PING on port \(port): \(log)")
    }

    private static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: findExecutable(tool) ?? "/usr/bin/\(tool)")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return (path.split(separator: ":") + ["/usr/bin", "/usr/sbin"])
            .map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A port nothing listens on: bound to 127.0.0.1 by us, then released.
    public static func unusedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartFailed(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw StartFailed(description: "bind: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
