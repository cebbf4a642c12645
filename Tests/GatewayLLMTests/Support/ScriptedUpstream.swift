import Foundation

/// `tests/upstream/scripted_upstream.py` as a subprocess on 127.0.0.1 with an ephemeral port: the
/// upstream (OpenAI, Anthropic and Ollama formats) whose behaviour the request's `model` selects,
/// plus its request log.
///
/// The server runs with `--exit-with-stdin` and we hold its stdin open, so it also goes away if
/// the test process dies before `stop()`.
final class ScriptedUpstream {
    let port: Int
    private let process: Process
    private let stdin: Pipe
    private let stderrFile: URL

    /// Starts the server and waits until it listens. Call `stop()` in the test's teardown.
    init() throws {
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("llm-tests-upstream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let portFile = scratch.appendingPathComponent("port")
        stderrFile = scratch.appendingPathComponent("stderr.txt")
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)

        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.scriptPath, "--host", "127.0.0.1", "--port", "0",
                             "--port-file", portFile.path, "--exit-with-stdin"]
        stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        // A file rather than a pipe: nobody reads it while the tests run, and a full pipe would block the server.
        let stderrHandle = try FileHandle(forWritingTo: stderrFile)
        process.standardError = stderrHandle
        try process.run()
        try? stderrHandle.close()  // the child has its own copy
        port = try Self.waitForPort(in: portFile, of: process, stderrFile: stderrFile)
    }

    /// The repository root is four levels above this file (Tests/GatewayLLMTests/Support/…).
    private static var scriptPath: String {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { root.deleteLastPathComponent() }
        return root.appendingPathComponent("tests/upstream/scripted_upstream.py").path
    }

    private static func waitForPort(in file: URL, of process: Process, stderrFile: URL) throws -> Int {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if let text = try? String(contentsOf: file, encoding: .utf8),
               let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return port
            }
            guard process.isRunning else { break }
            usleep(5_000)
        }
        process.terminate()
        let stderr = (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
        throw StartFailed(stderr: stderr)
    }

    struct StartFailed: Error, CustomStringConvertible {
        let stderr: String
        var description: String { "scripted upstream did not start: \(stderr)" }
    }

    /// `base_url` for `OpenAIProviderConfig`.
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    /// The server root: the base URL of the Anthropic (`/v1/messages`) and Ollama (`/api/chat`) dialects.
    var rootURL: String { "http://127.0.0.1:\(port)" }
    var completionsURL: String { baseURL + "/chat/completions" }

    /// Every request the server has seen, oldest first.
    func requestLog() throws -> [[String: Any]] {
        let body = try Loopback.httpGet(port: port, path: "/_log")
        guard let entries = try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]] else {
            throw UnexpectedLog(body: String(decoding: body, as: UTF8.self))
        }
        return entries
    }

    /// The log id of the first request whose model contains `tag`, waiting for it to be logged.
    func requestID(tagged tag: String, timeout: TimeInterval = 5) throws -> Int? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let entry = try requestLog().first(where: { ($0["model"] as? String)?.contains(tag) == true }) {
                return entry["id"] as? Int
            }
            usleep(5_000)
        } while Date() < deadline
        return nil
    }

    /// Waits (on the server) until request `id`'s connection is closed or `timeoutMilliseconds`
    /// pass, then returns its log entry: `outcome`, `closed_at` (Unix seconds) and so on.
    func waitClosed(requestID id: Int, timeoutMilliseconds: Int = 3_000) throws -> [String: Any] {
        let body = try Loopback.httpGet(port: port, path: "/_log?wait_closed=\(id)&timeout_ms=\(timeoutMilliseconds)",
                                        timeout: TimeInterval(timeoutMilliseconds) / 1_000 + 5)
        guard let entry = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw UnexpectedLog(body: String(decoding: body, as: UTF8.self))
        }
        return entry
    }

    struct UnexpectedLog: Error, CustomStringConvertible {
        let body: String
        var description: String { "unexpected /_log answer: \(body)" }
    }

    /// Closes the server's stdin (it exits at EOF) and waits; kills it if it lingers.
    func stop() {
        try? stdin.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: stderrFile.deletingLastPathComponent())
    }
}
