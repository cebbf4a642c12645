import Foundation
@preconcurrency import Glibc

/// The server a load run measures. Usually a `chat-gateway` that chat-bench starts itself with a
/// temporary config (a free loopback port, no static files, the demo model at the run's rate,
/// enough workers for every session to stream at once), or one already running, given by URL and
/// pid. Or a peer speaking the same protocol for comparison (`ServerKind`), started the same way.
final class ServerUnderTest {
    /// What a started server is configured with.
    struct Launch {
        var kind = ServerKind.gateway
        var binary: String
        var tokensPerSecond: Double = 20
        var tokensPerTurn = 60
        /// Turns streaming at once (`workers.concurrency`) and waiting (`workers.queue_size`).
        var concurrentTurns = 16
        /// Retained events per session (`sessions.max_events`): more than a turn has, so nobody
        /// gets a snapshot.
        var maxEvents = 4096
        /// Set by `launch` for kinds that need chat-bench's upstream (its `/v1` base URL).
        var upstreamBaseURL: String?
        /// The multi-node mode (`redis.url`) on this Redis, as node `nodeID`; nil: in memory.
        var redisURL: String?
        var nodeID: String?
        /// `workers.concurrency` when it differs from `concurrentTurns` (0: a node that runs no
        /// turns, only fans out; `workers.queue_size` stays `concurrentTurns`).
        var workers: Int?
    }

    let host: String
    let port: Int
    let path: String
    let pid: Int32
    /// The upstream this server streams from, when its kind has one (started first, stopped last).
    let upstream: UpstreamProcess?
    private let process: Process?
    private let directory: URL?

    private init(host: String, port: Int, path: String, pid: Int32, process: Process?, directory: URL?,
                 upstream: UpstreamProcess? = nil) {
        self.host = host
        self.port = port
        self.path = path
        self.pid = pid
        self.process = process
        self.directory = directory
        self.upstream = upstream
    }

    var url: String { "ws://\(host):\(port)\(path)" }
    var isLaunchedHere: Bool { process != nil }

    static func launch(_ launch: Launch) throws -> ServerUnderTest {
        guard FileManager.default.isExecutableFile(atPath: launch.binary) else {
            throw BenchError("\(launch.binary): no \(launch.kind.rawValue) executable there (\(launch.kind.howToBuild))")
        }
        var launch = launch
        var upstream: UpstreamProcess?
        if launch.kind.needsUpstream {
            let started = try UpstreamProcess(settings: UpstreamSettings(tokensPerSecond: launch.tokensPerSecond,
                                                                         tokens: launch.tokensPerTurn))
            launch.upstreamBaseURL = started.baseURL
            upstream = started
        }
        do { return try start(launch, upstream: upstream) } catch {
            upstream?.stop()
            throw error
        }
    }

    private static func start(_ launch: Launch, upstream: UpstreamProcess?) throws -> ServerUnderTest {
        let port = try LoopbackPort.free()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("chat-bench-\(getpid())-\(port)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let logURL = directory.appendingPathComponent("\(launch.kind.rawValue).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: launch.binary)
        process.arguments = try launch.kind.arguments(port: port, directory: directory, launch: launch)
        // Nothing from the caller's environment may change the model or the address under test.
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CHAT_GATEWAY_") }
        process.standardOutput = log
        process.standardError = log
        try process.run()
        ChildProcesses.shared.add(process.processIdentifier)
        let gateway = ServerUnderTest(host: "127.0.0.1", port: port, path: "/v1/ws", pid: process.processIdentifier,
                                       process: process, directory: directory, upstream: upstream)
        // Every kind is ready once it accepts TCP connections (nginx says nothing when it starts).
        let deadline = Date(timeIntervalSinceNow: 15)
        while !LoopbackPort.acceptsConnections(port) {
            if !process.isRunning || Date() > deadline {
                let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
                gateway.stopServer()
                throw BenchError("\(launch.kind.rawValue) did not start (log \(logURL.path)):\n\(text.suffix(2000))")
            }
            usleep(20_000)
        }
        return gateway
    }

    /// A gateway someone else runs: `ws://HOST:PORT/PATH` (numeric IPv4 on loopback) and its pid.
    static func attach(url: String, pid: Int32) throws -> ServerUnderTest {
        guard let components = URLComponents(string: url), components.scheme == "ws",
              let host = components.host, let port = components.port else {
            throw BenchError("--url \(url): expected ws://127.0.0.x:PORT/v1/ws")
        }
        guard host.hasPrefix("127.") else { throw BenchError("--url \(url): benchmarks only run on loopback (127.0.0.0/8)") }
        guard kill(pid, 0) == 0 else { throw BenchError("--pid \(pid): no such process") }
        return ServerUnderTest(host: host, port: port, path: components.path.isEmpty ? "/v1/ws" : components.path,
                                pid: pid, process: nil, directory: nil)
    }

    func sample() throws -> ProcessSample { try ProcessSample.read(pid: pid) }

    /// Stops a gateway started here (SIGTERM, then SIGKILL after 10 s) and removes its files, then
    /// its upstream; leaves an attached one alone.
    func stop() {
        stopServer()
        upstream?.stop()
    }

    private func stopServer() {
        guard let process else { return }
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = Date(timeIntervalSinceNow: 10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        ChildProcesses.shared.remove(process.processIdentifier)
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }
}
