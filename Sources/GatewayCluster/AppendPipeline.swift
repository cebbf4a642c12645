import GatewayRedis
import Synchronization

/// Runs the scripts of fire-and-forget appends (deltas, ends) pipelined, one EVALSHA each, in the
/// order they were submitted, including across a reload of the scripts.
///
/// Why not `RedisClient.evaluate`: after a Redis restart or SCRIPT FLUSH every EVALSHA in flight
/// answers NOSCRIPT, and `evaluate` reloads and re-sends each from its own completion, by which
/// time later deltas of the same turn, sent after the SCRIPT LOAD, have run: the reply's text would
/// come out of order. Here the first NOSCRIPT parks every new append; once everything in flight
/// has answered, the scripts are loaded once and the refused appends go again in submission
/// order, then the parked ones. (Another node's SCRIPT LOAD can still let one of our later appends
/// through before the earlier ones are re-sent; the delta script drops a delta when its writer
/// already got a later one in, so the worst case is a lost delta, never a reordered one.)
///
/// Threads: `submit` from any thread; completions run on the client's command thread, or inline
/// when the client refuses at once. `state` is never held while calling the client, whose
/// completions may run inline and come back here.
final class AppendPipeline: Sendable {
    private struct Append: Sendable {
        let script: Int
        let arguments: [RedisArgument]
        let completion: @Sendable (Result<RedisValue, RedisError>) -> Void
    }

    private struct State {
        var sha1s: [String?]
        var inFlight = 0
        /// A NOSCRIPT came back (or nothing was loaded yet): appends park until the reload.
        var reloading = false
        var loadSent = false
        /// The reload's appends are being re-sent: new ones park behind them.
        var flushing = false
        var nextTicket: UInt64 = 0
        var refused: [(ticket: UInt64, append: Append)] = []
        var parked: [Append] = []
    }

    private let client: RedisClient
    private let scripts: [RedisScript]
    private let state: Mutex<State>

    init(client: RedisClient, scripts: [RedisScript]) {
        self.client = client
        self.scripts = scripts
        state = Mutex(State(sha1s: Array(repeating: nil, count: scripts.count)))
    }

    /// Every script loaded and nothing waiting for a reload.
    var isLoaded: Bool {
        state.withLock { !$0.reloading && !$0.flushing && !$0.sha1s.contains(nil) }
    }

    /// Loads the scripts now, so the first appends need not wait for it.
    func preload() {
        let start = state.withLock { state -> Bool in
            guard !state.reloading else { return false }
            state.reloading = true
            state.loadSent = true
            return true
        }
        if start { load() }
    }

    /// `script` indexes the scripts given at init; no KEYS (see `SessionLogScripts`).
    func submit(script: Int, arguments: [RedisArgument], completion: @escaping @Sendable (Result<RedisValue, RedisError>) -> Void) {
        let append = Append(script: script, arguments: arguments, completion: completion)
        enum Next { case send(String, UInt64), park, load }
        let next = state.withLock { state -> Next in
            if !state.reloading, !state.flushing, let sha1 = state.sha1s[script] {
                state.inFlight += 1
                state.nextTicket += 1
                return .send(sha1, state.nextTicket)
            }
            state.parked.append(append)
            guard !state.reloading, !state.flushing else { return .park }
            state.reloading = true
            guard state.inFlight == 0 else { return .park }
            state.loadSent = true
            return .load
        }
        switch next {
        case .send(let sha1, let ticket): send(append, sha1: sha1, ticket: ticket)
        case .park: break
        case .load: load()
        }
    }

    private func send(_ append: Append, sha1: String, ticket: UInt64) {
        client.send(["EVALSHA", RedisArgument(sha1), 0] + append.arguments) { [self] result in
            answered(append, ticket: ticket, result: result)
        }
    }

    private func answered(_ append: Append, ticket: UInt64, result: Result<RedisValue, RedisError>) {
        let noScript: Bool
        if case .failure(let error) = result, error.serverErrorCode == "NOSCRIPT" { noScript = true } else { noScript = false }
        let startLoad = state.withLock { state -> Bool in
            state.inFlight -= 1
            if noScript {
                state.refused.append((ticket, append))
                state.reloading = true
            }
            // While flushing, the flusher starts the reload once it stops sending.
            guard state.reloading, state.inFlight == 0, !state.loadSent, !state.flushing else { return false }
            state.loadSent = true
            return true
        }
        if !noScript { append.completion(result) }
        if startLoad { load() }
    }

    /// SCRIPT LOAD of every script, pipelined; then the refused and parked appends go, in order.
    private func load() {
        let replies = Mutex<[Int: Result<RedisValue, RedisError>]>([:])
        for (index, script) in scripts.enumerated() {
            client.send(["SCRIPT", "LOAD", RedisArgument(script.source)]) { [self] result in
                let all = replies.withLock { replies -> [Int: Result<RedisValue, RedisError>]? in
                    replies[index] = result
                    return replies.count == scripts.count ? replies : nil
                }
                if let all { loaded(all) }
            }
        }
    }

    private func loaded(_ replies: [Int: Result<RedisValue, RedisError>]) {
        var failure: RedisError?
        var sha1s: [String?] = []
        for index in scripts.indices {
            switch replies[index] {
            case .success(let reply)?:
                if let sha1 = reply.string, sha1.utf8.count == 40 { sha1s.append(sha1) } else {
                    failure = .protocolError("SCRIPT LOAD replied \(reply), not a SHA1")
                }
            case .failure(let error)?: failure = error
            case nil: failure = .protocolError("no reply to SCRIPT LOAD")
            }
        }
        let batch = state.withLock { state -> [Append] in
            let batch = state.refused.sorted { $0.ticket < $1.ticket }.map(\.append) + state.parked
            state.refused = []
            state.parked = []
            state.reloading = false
            state.loadSent = false
            if failure == nil {
                state.sha1s = sha1s
                state.flushing = true
            }
            return batch
        }
        if let failure {
            for append in batch { append.completion(.failure(failure)) }
        } else {
            flush(batch)
        }
    }

    /// Sends `batch`, then whatever parked behind it meanwhile, until nothing is left. Should a
    /// NOSCRIPT come back meanwhile (another flush of the script cache), the rest parks in front
    /// and the next reload takes it.
    private func flush(_ batch: [Append]) {
        var batch = batch
        while true {
            for (index, append) in batch.enumerated() {
                enum Next { case send(String, UInt64), stop(load: Bool) }
                let next = state.withLock { state -> Next in
                    if !state.reloading, let sha1 = state.sha1s[append.script] {
                        state.inFlight += 1
                        state.nextTicket += 1
                        return .send(sha1, state.nextTicket)
                    }
                    state.parked.insert(contentsOf: batch[index...], at: 0)
                    state.flushing = false
                    guard state.inFlight == 0, !state.loadSent else { return .stop(load: false) }
                    state.loadSent = true
                    return .stop(load: true)
                }
                switch next {
                case .send(let sha1, let ticket): send(append, sha1: sha1, ticket: ticket)
                case .stop(let load):
                    if load { self.load() }
                    return
                }
            }
            let (more, startLoad) = state.withLock { state -> ([Append], Bool) in
                if !state.reloading, !state.parked.isEmpty {
                    defer { state.parked = [] }
                    return (state.parked, false)
                }
                state.flushing = false
                guard state.reloading, state.inFlight == 0, !state.loadSent else { return ([], false) }
                state.loadSent = true
                return ([], true)
            }
            if startLoad { load() }
            guard !more.isEmpty else { return }
            batch = more
        }
    }
}
