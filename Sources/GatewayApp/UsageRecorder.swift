import Dispatch
import Foundation
import GatewayCore
import Synchronization

/// Where usage records go: the ledger that budgets read (in memory, under a lock) and, when
/// configured, the usage log, a JSON line per turn appended on a queue of its own so that no turn
/// waits for the disk.
final class UsageRecorder: Sendable {
    private let ledger: Mutex<UsageLedger>
    private let log: UsageLogFile?

    init(budgets: UsageLedger.Budgets, logPath: String?) throws {
        ledger = Mutex(UsageLedger(budgets: budgets))
        log = try logPath.map { try UsageLogFile(path: $0) }
    }

    func record(_ record: UsageRecord) {
        ledger.withLock { $0.add(record) }
        log?.append(record.json())
    }

    /// Nil while `tenant` may start turns; else ms until its budget resets.
    func budgetRefusal(for tenant: String, now: Int) -> Int? {
        ledger.withLock { $0.refusal(for: tenant, now: now) }
    }

    /// Waits until every record so far is written (shutdown).
    func flush() { log?.flush() }
}

/// The usage log file. `@unchecked Sendable`: `handle` is used only on `queue`.
final class UsageLogFile: @unchecked Sendable {
    private let queue = DispatchQueue(label: "chat-gateway.usage-log", qos: .utility)
    private let handle: FileHandle
    private let path: String

    init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw ConfigError(key: "usage.log_path", problem: "cannot create '\(path)'")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw ConfigError(key: "usage.log_path", problem: "cannot open '\(path)' for writing")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    func append(_ line: [UInt8]) {
        queue.async { [handle, path] in
            do {
                try handle.write(contentsOf: Data(line + [0x0A]))
            } catch {
                Log.warning("usage log \(path): \(error)")
            }
        }
    }

    func flush() { queue.sync { try? handle.synchronize() } }
}
