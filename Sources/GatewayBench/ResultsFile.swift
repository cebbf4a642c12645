import Foundation
import GatewayWSClient
@preconcurrency import Glibc

/// Where benchmark results go: `<directory>/<scenario>[-<label>]-<UTC date>.json`, pretty-printed
/// with sorted keys, plus what machine produced them. A label keeps several profiles of one
/// scenario (e.g. `make bench-full`'s fan-out shapes) from overwriting each other on the same day.
enum ResultsFile {
    static func utcDate(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// The machine a run was measured on, for every results file.
    static var machine: [String: Any] {
        var names = utsname()
        uname(&names)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return ["cores": ProcessInfo.processInfo.activeProcessorCount,
                "memory_bytes": ProcessInfo.processInfo.physicalMemory,
                "kernel": "\(text(names.sysname)) \(text(names.release))",
                // lws appends "-<git hash>", empty in Debian's build.
                "libwebsockets": String(WebSocketClientPool.libraryVersion.split(separator: "-").first ?? ""),
                "open_files_limit": FileLimits.hardLimit]
    }

    /// Writes `json` and returns the path.
    static func write(_ json: [String: Any], scenario: String, label: String?, directory: String) throws -> String {
        let name = [scenario, label, utcDate()].compactMap { $0 }.joined(separator: "-")
        let output = URL(fileURLWithPath: directory).appendingPathComponent("\(name).json")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try (data + Data("\n".utf8)).write(to: output)
        } catch {
            throw BenchError("\(output.path): cannot write the results: \(error.localizedDescription)")
        }
        return output.path
    }
}
