import Foundation
@preconcurrency import Glibc

/// The client processes of one load run, each a `chat-bench __worker` with its slice of the plan
/// and its own source address. The coordinator steps them together: ready, go, done, finish.
final class WorkerFleet {
    let links: [WorkerLink]
    let sourceAddresses: [String]

    /// Starts `processes` workers for `plan`; `template` carries the target and pacing (its
    /// `connectsPerSecond` is the whole run's and is split between the processes). With `ports`
    /// (several gateway nodes), process `w` connects to `ports[w % ports.count]`: since connection
    /// `g` goes to process `g % processes`, a multiple of the node count spreads each session's
    /// subscribers round-robin over the nodes.
    init(plan: ChatLoadPlan, processes: Int, template: WorkerPlan, run: Int, ports: [Int] = []) throws {
        let executable = try Self.ownExecutable()
        sourceAddresses = SourceAddresses.forRun(run, processes: processes)
        var links: [WorkerLink] = []
        do {
            for index in 0..<processes {
                var worker = template
                worker.load = plan.slice(process: index, of: processes)
                worker.sourceAddress = sourceAddresses[index]
                if !ports.isEmpty { worker.port = ports[index % ports.count] }
                worker.connectsPerSecond = template.connectsPerSecond / Double(processes)
                links.append(try WorkerLink(executable: executable, plan: worker, index: index))
            }
        } catch {
            links.forEach { $0.reap(seconds: 0) }
            throw BenchError("cannot start client processes: \(error)")
        }
        self.links = links
    }

    /// Every worker's next `tag` line, in worker order.
    func awaitAll<T: Decodable>(_ tag: String, as type: T.Type, timeoutSeconds: Double) throws -> [T] {
        try links.map { try $0.await(tag, as: type, timeoutSeconds: timeoutSeconds) }
    }

    func broadcast(_ command: String) { links.forEach { $0.send(command) } }

    /// CPU and memory of every worker, for the load generator's own cost.
    func samples() -> [ProcessSample] { links.compactMap { try? ProcessSample.read(pid: $0.pid) } }

    /// Closes every connection and returns the tallies added up.
    func finish(timeoutSeconds: Double) throws -> ChatLoadTally {
        broadcast("finish")
        defer { links.forEach { $0.reap(seconds: 5) } }
        var total = ChatLoadTally()
        for tally in try awaitAll("tally", as: ChatLoadTally.self, timeoutSeconds: timeoutSeconds) { total.add(tally) }
        return total
    }

    /// After a failure: no questions, just end them.
    func abandon() { links.forEach { $0.reap(seconds: 2) } }

    private static func ownExecutable() throws -> String {
        do { return try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") } catch {
            throw BenchError("cannot find chat-bench's own executable: \(error)")
        }
    }
}

/// Loopback source addresses for client processes: process `w` of a run binds 127.0.R.(w+2).
/// R changes with every run (and with the invocation), so a run's ports never wait behind the
/// TIME_WAIT sockets of the one before, and each process has ~28k ephemeral ports of its own.
enum SourceAddresses {
    private static let salt = Int(getpid()) % 250

    static func forRun(_ run: Int, processes: Int) -> [String] {
        let third = 1 + (salt + run) % 250
        return (0..<processes).map { "127.0.\(third).\(2 + $0 % 250)" }
    }
}
