import Foundation
import Synchronization

/// A hidden chat-bench child's protocol lines on stdout (`tag JSON`), whole lines only, from
/// whichever thread reports.
final class ChildOutput: Sendable {
    private let lock = Mutex(())

    func line<T: Encodable>(_ tag: String, _ value: T) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        lock.withLock { _ in FileHandle.standardOutput.write(Data("\(tag) \(body)\n".utf8)) }
    }
}
