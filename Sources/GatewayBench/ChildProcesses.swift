import Foundation
import Synchronization

/// The processes chat-bench started (gateway, client workers), so that Ctrl-C or SIGTERM ends
/// them too instead of leaving them holding ports and thousands of sockets.
final class ChildProcesses: Sendable {
    static let shared = ChildProcesses()
    private let pids = Mutex<Set<Int32>>([])
    private let handlers = Mutex<[any DispatchSourceSignal]>([])

    func add(_ pid: Int32) {
        pids.withLock { _ = $0.insert(pid) }
        installHandlersOnce()
    }

    func remove(_ pid: Int32) { pids.withLock { _ = $0.remove(pid) } }

    private func installHandlersOnce() {
        handlers.withLock { handlers in
            guard handlers.isEmpty else { return }
            for number in [SIGINT, SIGTERM] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { [self] in
                    for pid in self.pids.withLock({ $0 }) { kill(pid, SIGTERM) }
                    FileHandle.standardError.write(Data("chat-bench: interrupted; stopped the processes it started\n".utf8))
                    exit(130)
                }
                source.resume()
                handlers.append(source)
            }
        }
    }
}
