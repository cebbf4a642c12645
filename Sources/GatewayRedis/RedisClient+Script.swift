extension RedisClient {
    /// Runs `script` with EVALSHA. When Redis does not know the script yet (first use, or
    /// NOSCRIPT after a restart or `SCRIPT FLUSH`) it is loaded with SCRIPT LOAD and EVALSHA is
    /// sent again: safe, because NOSCRIPT means nothing ran. Other failures are not retried.
    ///
    /// A load costs extra round trips, so a command sent after `evaluate` may run before the
    /// script does; send it from the completion when order matters.
    public func evaluate(_ script: RedisScript, keys: [RedisArgument] = [], arguments: [RedisArgument] = [],
                         completion: @escaping @Sendable (Result<RedisValue, RedisError>) -> Void) {
        guard let sha1 = script.sha1 else {
            loadThenEvaluate(script, keys: keys, arguments: arguments, completion: completion)
            return
        }
        send(Self.evalSHA(sha1, keys: keys, arguments: arguments)) { [self] result in
            if case let .failure(error) = result, error.serverErrorCode == "NOSCRIPT" {
                loadThenEvaluate(script, keys: keys, arguments: arguments, completion: completion)
            } else {
                completion(result)
            }
        }
    }

    /// `evaluate` for async callers.
    public func evaluate(_ script: RedisScript, keys: [RedisArgument] = [],
                         arguments: [RedisArgument] = []) async throws(RedisError) -> RedisValue {
        let result = await withCheckedContinuation { continuation in
            evaluate(script, keys: keys, arguments: arguments) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// A NOSCRIPT after this load (another SCRIPT FLUSH in between) is reported, not looped on.
    private func loadThenEvaluate(_ script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument],
                                  completion: @escaping @Sendable (Result<RedisValue, RedisError>) -> Void) {
        send(["SCRIPT", "LOAD", RedisArgument(script.source)]) { [self] result in
            switch result {
            case let .success(reply):
                guard let sha1 = reply.string, sha1.utf8.count == 40 else {
                    completion(.failure(.protocolError("SCRIPT LOAD replied \(reply), not a SHA1")))
                    return
                }
                script.remember(sha1: sha1)
                send(Self.evalSHA(sha1, keys: keys, arguments: arguments), completion: completion)
            case let .failure(error):
                completion(.failure(error))
            }
        }
    }

    private static func evalSHA(_ sha1: String, keys: [RedisArgument], arguments: [RedisArgument]) -> [RedisArgument] {
        ["EVALSHA", RedisArgument(sha1), RedisArgument(keys.count)] + keys + arguments
    }
}
