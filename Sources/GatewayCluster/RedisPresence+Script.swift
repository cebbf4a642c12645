import Dispatch
import GatewayRedis

/// Running the presence script: EVALSHA only, loaded once per Redis (see "Order" in `RedisPresence`).
extension RedisPresence {
    /// One script call; the completion gets nil for a failure (then Redis may or may not have run
    /// it) or a reply that is not one. Without a loaded script it fails at once.
    func run(_ operation: String, _ arguments: [RedisArgument], completion: @escaping @Sendable (PresenceReply?) -> Void) {
        guard let sha1 = state.withLock({ $0.scriptSHA1 }) else {
            load()
            completion(nil)
            return
        }
        let command: [RedisArgument] = ["EVALSHA", RedisArgument(sha1), 1, RedisArgument(keys.nodes), RedisArgument(operation),
                                        RedisArgument(keys.membersPrefix), RedisArgument(keys.channelPrefix),
                                        RedisArgument(keys.nodeSessionsPrefix)]
        client.send(command + arguments) { result in
            if case .failure(let error) = result, error.serverErrorCode == "NOSCRIPT" {
                self.state.withLock { state in
                    if state.scriptSHA1 == sha1 { state.scriptSHA1 = nil }
                    state.markDirty()
                }
                self.queue.async { self.load() }
            }
            completion((try? result.get()).flatMap(PresenceReply.init))
        }
    }

    /// Loads the script (unless loaded or loading); once Redis has it, re-registers this node,
    /// since what failed meanwhile may have left Redis behind. `done` gets whether it is loaded.
    func load(done: (@Sendable (Bool) -> Void)? = nil) {
        let start = state.withLock { state -> Bool in
            guard state.scriptSHA1 == nil, !state.loading, !state.stopped else { return false }
            state.loading = true
            return true
        }
        guard start else {
            done?(state.withLock { $0.scriptSHA1 != nil })
            return
        }
        client.send(["SCRIPT", "LOAD", RedisArgument(PresenceScript.source)]) { result in
            let sha1 = (try? result.get())?.string.flatMap { $0.utf8.count == 40 ? $0 : nil }
            self.state.withLock { state in
                state.loading = false
                state.scriptSHA1 = sha1
            }
            done?(sha1 != nil)
            if sha1 != nil { self.queue.async { self.sync() } }
        }
    }
}
