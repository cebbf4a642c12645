import Foundation
@preconcurrency import Glibc
import Synchronization

/// The coordinator's end of a `chat-bench __upstream` process: started with its settings, its
/// port once it listens, and every close it reports, which callers may wait for by tag.
///
/// `@unchecked Sendable`: `process` and `input` are used only by the coordinating thread; the
/// reported lines are behind `state`, and `arrived` is a semaphore.
final class UpstreamProcess: @unchecked Sendable {
    let settings: UpstreamSettings
    private let process: Process
    private let input: FileHandle
    private let state = Mutex<(port: Int?, closes: [UpstreamClose], ended: Bool, problem: String?)>((nil, [], false, nil))
    private let arrived = DispatchSemaphore(value: 0)

    init(settings: UpstreamSettings) throws {
        self.settings = settings
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [BenchUpstream.command, String(decoding: try encoder.encode(settings), as: UTF8.self)]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.standardError
        input = stdin.fileHandleForWriting
        try process.run()
        ChildProcesses.shared.add(process.processIdentifier)
        ChildLines.read(stdout.fileHandleForReading, line: { [self] line in
            do {
                if let close = try ChildLines.decode(line, tag: "closed", as: UpstreamClose.self) {
                    self.state.withLock { $0.closes.append(close) }
                } else if let listening = try ChildLines.decode(line, tag: "listening", as: [String: Int].self) {
                    self.state.withLock { $0.port = listening["port"] }
                }
            } catch {
                self.state.withLock { $0.problem = $0.problem ?? "unreadable line '\(line)': \(error)" }
            }
            self.arrived.signal()
        }, ended: { [self] in
            self.state.withLock { $0.ended = true }
            self.arrived.signal()
        })
        do { _ = try wait(seconds: 15, what: "its listening line") { $0.port } } catch {
            stop()
            throw error
        }
    }

    var pid: Int32 { process.processIdentifier }
    var port: Int { state.withLock { $0.port ?? 0 } }
    var baseURL: String { "http://\(settings.host):\(port)/v1" }

    /// Every close reported so far.
    var closes: [UpstreamClose] { state.withLock { $0.closes } }

    /// The close of the request tagged `tag`, once reported.
    func close(tag: String, timeoutSeconds: Double) throws -> UpstreamClose {
        try wait(seconds: timeoutSeconds, what: "the close of '\(tag)'") { state in
            state.closes.last { $0.tag == tag }
        }
    }

    /// Forgets the closes reported so far (between runs on one upstream).
    func clearCloses() { state.withLock { $0.closes = [] } }

    func sample() throws -> ProcessSample { try ProcessSample.read(pid: pid) }

    /// Ends the process (its stdin closes; SIGKILL after 5 s).
    func stop() {
        try? input.close()
        let deadline = Date(timeIntervalSinceNow: 5)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        ChildProcesses.shared.remove(process.processIdentifier)
    }

    private func wait<T>(seconds: Double, what: String,
                         _ found: (inout (port: Int?, closes: [UpstreamClose], ended: Bool, problem: String?)) -> T?) throws -> T {
        let deadline = DispatchTime.now() + seconds
        while true {
            let (value, ended, problem) = state.withLock { state in (found(&state), state.ended, state.problem) }
            if let value { return value }
            if let problem { throw BenchError("upstream process: \(problem)") }
            if ended { throw BenchError("upstream process exited before \(what)") }
            if arrived.wait(timeout: deadline) == .timedOut {
                throw BenchError("upstream process: no \(what) within \(Int(seconds)) s")
            }
        }
    }
}
