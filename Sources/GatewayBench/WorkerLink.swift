import Foundation
import Synchronization

/// The coordinator's end of one client process: its stdin for commands, a reader thread that
/// collects its stdout lines, and waiting for a tagged line with a deadline (a worker that hangs
/// or dies fails the run instead of hanging it).
///
/// `@unchecked Sendable`: `process` and `input` are used only by the coordinating thread;
/// `lines` is a Mutex; `arrived` is a semaphore.
final class WorkerLink: @unchecked Sendable {
    let process: Process
    let index: Int
    private let input: FileHandle
    private let lines = Mutex<(pending: [String], ended: Bool)>(([], false))
    private let arrived = DispatchSemaphore(value: 0)

    init(executable: String, plan: WorkerPlan, index: Int) throws {
        self.index = index
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let planJSON = String(decoding: try encoder.encode(plan), as: UTF8.self)
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [BenchWorker.command, planJSON]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.standardError
        input = stdin.fileHandleForWriting
        try process.run()
        ChildProcesses.shared.add(process.processIdentifier)
        ChildLines.read(stdout.fileHandleForReading, line: { [self] line in
            self.lines.withLock { $0.pending.append(line) }
            self.arrived.signal()
        }, ended: { [self] in
            self.lines.withLock { $0.ended = true }
            self.arrived.signal()
        })
    }

    var pid: Int32 { process.processIdentifier }

    func send(_ command: String) {
        try? input.write(contentsOf: Data("\(command)\n".utf8))
    }

    /// The JSON after the next line tagged `tag`, decoded; other lines are skipped.
    func await<T: Decodable>(_ tag: String, as type: T.Type, timeoutSeconds: Double) throws -> T {
        let deadline = DispatchTime.now() + timeoutSeconds
        while true {
            let (line, ended) = lines.withLock { state -> (String?, Bool) in
                state.pending.isEmpty ? (nil, state.ended) : (state.pending.removeFirst(), false)
            }
            if let line {
                do {
                    guard let value = try ChildLines.decode(line, tag: tag, as: type) else { continue }
                    return value
                } catch {
                    throw BenchError("client process \(index): unreadable '\(tag)' line: \(error)")
                }
            }
            if ended { throw BenchError("client process \(index) exited before its '\(tag)' line") }
            if arrived.wait(timeout: deadline) == .timedOut {
                throw BenchError("client process \(index): no '\(tag)' line within \(Int(timeoutSeconds)) s")
            }
        }
    }

    /// Waits up to `seconds` for the process to exit, then kills it.
    func reap(seconds: Double) {
        try? input.close()
        let deadline = Date(timeIntervalSinceNow: seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        ChildProcesses.shared.remove(process.processIdentifier)
    }
}
