import Foundation
import GatewayRedis

/// What Redis says it executed, from `INFO commandstats` and `INFO stats`: calls per command and
/// `total_commands_processed`. Both count the commands a Lua script runs as well as the
/// `EVALSHA` that ran it (Redis 7 accounts every `call()`), so an append script shows up as one
/// `evalsha` plus its `incr`, `xadd`, `publish`... The difference of two readings is what a run
/// cost; the readings' own `INFO` calls are left out of it.
struct RedisCounters: Equatable {
    /// `cmdstat_<name>` calls, by name as Redis reports it (`evalsha`, `xadd`, `config|resetstat`).
    var calls: [String: Int] = [:]
    var totalCommandsProcessed = 0

    /// Reads both sections in one `INFO` (Redis 7 takes several sections), so they are one moment:
    /// two commands could have other clients' commands run between them, which the one section
    /// would count and the other not. Waits up to 5 s.
    static func read(_ client: RedisClient) throws -> RedisCounters {
        let text = try info(client, sections: ["commandstats", "stats"])
        var counters = RedisCounters()
        counters.calls = parseCommandStats(text)
        counters.totalCommandsProcessed = Int(parseFields(text)["total_commands_processed"] ?? "") ?? 0
        return counters
    }

    /// Waits until Redis is about idle: at most `quietCommands` commands over 200 ms (the readings'
    /// own left out), or `timeoutSeconds`. A node finishes some of a join's work after the client
    /// has its `joined` (presence, the mirror's first read), and that tail must not be counted as the
    /// turns' commands, nor as the nodes' background. Returns the last reading.
    static func settle(_ client: RedisClient, quietCommands: Int, timeoutSeconds: Double) throws -> RedisCounters {
        let deadline = Date(timeIntervalSinceNow: timeoutSeconds)
        var last = try read(client)
        while Date() < deadline {
            usleep(200_000)
            let next = try read(client)
            defer { last = next }
            if last.delta(to: next).totalCommandsProcessed <= quietCommands { return next }
        }
        return last
    }

    /// `later - self`, without the `INFO` calls the readings themselves made.
    func delta(to later: RedisCounters) -> RedisCounters {
        var delta = RedisCounters()
        for (name, count) in later.calls where name != "info" {
            let difference = count - (calls[name] ?? 0)
            if difference > 0 { delta.calls[name] = difference }
        }
        let infoCalls = (later.calls["info"] ?? 0) - (calls["info"] ?? 0)
        delta.totalCommandsProcessed = later.totalCommandsProcessed - totalCommandsProcessed - infoCalls
        return delta
    }

    /// Every call counted by commandstats (= `totalCommandsProcessed`, give or take a command
    /// that was refused before it ran).
    var totalCalls: Int { calls.values.reduce(0, +) }

    /// `cmdstat_evalsha:calls=12,usec=...` lines.
    static func parseCommandStats(_ text: String) -> [String: Int] {
        var calls: [String: Int] = [:]
        for (key, value) in parseFields(text) where key.hasPrefix("cmdstat_") {
            let field = value.split(separator: ",").first { $0.hasPrefix("calls=") }
            if let count = field.flatMap({ Int($0.dropFirst("calls=".count)) }) {
                calls[String(key.dropFirst("cmdstat_".count))] = count
            }
        }
        return calls
    }

    /// `key:value` lines of an INFO section (`# Section` headers and blank lines skipped).
    static func parseFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }

    private static func info(_ client: RedisClient, sections: [String]) throws -> String {
        let answer = Answer()
        let section = sections.joined(separator: " ")
        client.send(["INFO"] + sections.map { RedisArgument($0) }) { answer.set($0) }
        guard answer.wait(seconds: 5) else { throw BenchError("redis \(client.endpoint): no answer to INFO \(section) in 5 s") }
        switch answer.result {
        case .success(let value)?:
            guard let text = value.string else { throw BenchError("redis: INFO \(section) answered \(value)") }
            return text
        case .failure(let error)?: throw BenchError("redis \(client.endpoint): INFO \(section) failed: \(error)")
        case nil: throw BenchError("redis: INFO \(section) gave no answer")
        }
    }
}

/// One command's result, handed from the client's thread to the waiting one.
private final class Answer: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    /// Written once on the client's thread before `signal`, read after `wait`.
    private(set) var result: Result<RedisValue, RedisError>?

    func set(_ result: Result<RedisValue, RedisError>) {
        self.result = result
        semaphore.signal()
    }

    func wait(seconds: Double) -> Bool { semaphore.wait(timeout: .now() + seconds) == .success }
}
