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
        try write(json, name: [scenario, label, utcDate()].compactMap { $0 }.joined(separator: "-"), directory: directory)
    }

    /// `<directory>/<name>.json`.
    static func write(_ json: [String: Any], name: String, directory: String) throws -> String {
        let data: Data
        do { data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) } catch {
            throw BenchError("\(name).json: cannot encode the results: \(error.localizedDescription)")
        }
        return try save(data + Data("\n".utf8), file: "\(name).json", directory: directory)
    }

    /// `<directory>/<name>.md`.
    static func writeText(_ text: String, name: String, directory: String) throws -> String {
        try save(Data(text.utf8), file: "\(name).md", directory: directory)
    }

    private static func save(_ data: Data, file: String, directory: String) throws -> String {
        let output = URL(fileURLWithPath: directory).appendingPathComponent(file)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try data.write(to: output)
        } catch {
            throw BenchError("\(output.path): cannot write the results: \(error.localizedDescription)")
        }
        return output.path
    }
}
