#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a newline-delimited JSON body (Ollama's `/api/chat`) into lines, whatever the read boundaries.
///
/// Lines end with LF; a CR before it is dropped (CRLF bodies). Blank lines are skipped. A line is
/// decoded as UTF-8 only once complete, so a read that ends inside a multi-byte character is fine.
/// JSON never contains a raw newline (it is escaped inside strings), so LF is a safe delimiter.
public struct NDJSONLineSplitter {
    private var partialLine: [UInt8] = []

    public init() {}

    /// Calls `onLine` for each complete, non-blank line ending in this chunk (without its line end).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, onLine: (String) -> Void) {
        guard let base = bytes.baseAddress else { return }
        var start = 0
        while start < bytes.count {
            guard let hit = memchr(base + start, 0x0A, bytes.count - start) else {
                partialLine.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...]))
                return
            }
            let end = base.distance(to: UnsafeRawPointer(hit))
            let piece = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            if partialLine.isEmpty {
                Self.emit(piece, onLine: onLine)
            } else {
                partialLine.append(contentsOf: piece)
                partialLine.withUnsafeBytes { Self.emit($0, onLine: onLine) }
                partialLine.removeAll(keepingCapacity: true)
            }
            start = end + 1
        }
    }

    public mutating func feed(_ bytes: [UInt8]) -> [String] {
        var lines: [String] = []
        bytes.withUnsafeBytes { feed($0) { lines.append($0) } }
        return lines
    }

    /// End of body: the last line may lack its newline.
    public mutating func finish(onLine: (String) -> Void) {
        partialLine.withUnsafeBytes { Self.emit($0, onLine: onLine) }
        partialLine.removeAll()
    }

    public mutating func finish() -> [String] {
        var lines: [String] = []
        finish { lines.append($0) }
        return lines
    }

    private static func emit(_ line: UnsafeRawBufferPointer, onLine: (String) -> Void) {
        var trimmed = line.assumingMemoryBound(to: UInt8.self)
        while let last = trimmed.last, last == 0x0D || last == 0x20 || last == 0x09 {
            trimmed = UnsafeBufferPointer(rebasing: trimmed.dropLast())
        }
        // A line of only whitespace carries nothing (keep-alive newlines).
        guard trimmed.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return }
        onLine(String(decoding: trimmed, as: UTF8.self))
    }
}
