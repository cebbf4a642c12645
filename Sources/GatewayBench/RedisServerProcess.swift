import Foundation
@preconcurrency import Glibc

/// A redis-server of chat-bench's own for the multi-node runs: a free loopback port, no
/// persistence (`--save "" --appendonly no`: a snapshot or fsync mid-run would show up as latency
/// that is not the gateway's), its files in a temporary directory. Started fresh per run, so its
/// `INFO` counters and memory hold only that run.
final class RedisServerProcess {
    let port: Int
    let pid: Int32
    private let process: Process
    private let directory: URL

    var url: String { "redis://127.0.0.1:\(port)" }

    init(executable: String = "/usr/bin/redis-server") throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("\(executable): no redis-server there (apt-get install redis-server; scripts/install-deps.sh --test)")
        }
        port = try LoopbackPort.free()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("chat-bench-redis-\(getpid())-\(port)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--daemonize", "no", "--dir", directory.path,
                             "--logfile", directory.appendingPathComponent("redis.log").path]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        pid = process.processIdentifier
        ChildProcesses.shared.add(pid)
        let deadline = Date(timeIntervalSinceNow: 10)
        while !LoopbackPort.acceptsConnections(port) {
            if !process.isRunning || Date() > deadline {
                let log = (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
                stop()
                throw BenchError("redis-server did not start on port \(port):\n\(log.suffix(2000))")
            }
            usleep(10_000)
        }
    }

    func sample() throws -> ProcessSample { try ProcessSample.read(pid: pid) }

    /// SIGTERM (no save: persistence is off), SIGKILL after 5 s; removes its directory.
    func stop() {
        if process.isRunning { kill(pid, SIGTERM) }
        let deadline = Date(timeIntervalSinceNow: 5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        ChildProcesses.shared.remove(pid)
        try? FileManager.default.removeItem(at: directory)
    }
}
