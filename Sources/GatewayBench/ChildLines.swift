import Foundation

/// Reads a child process's stdout line by line on a thread of its own, handing each whole line
/// (without its newline) to `line`, then calling `ended` once the pipe closes.
enum ChildLines {
    static func read(_ handle: FileHandle, line: @escaping @Sendable (String) -> Void,
                     ended: @escaping @Sendable () -> Void) {
        Thread.detachNewThread {
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 0x0A) {
                    line(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...newline)
                }
            }
            ended()
        }
    }

    /// `tag JSON` lines, as every hidden chat-bench child writes them: the JSON decoded, or nil
    /// when the line has another tag.
    static func decode<T: Decodable>(_ line: String, tag: String, as type: T.Type) throws -> T? {
        guard line.hasPrefix(tag + " ") else { return nil }
        return try JSONDecoder().decode(T.self, from: Data(line.dropFirst(tag.count + 1).utf8))
    }
}
