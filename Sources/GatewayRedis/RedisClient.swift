/// A Redis command connection, shared by any number of threads.
///
/// Threads: one dedicated thread owns the hiredis connection. `send` may be called from any
/// thread and never blocks: it queues the command and wakes that thread, which pipelines
/// everything queued into one write and completes commands as their replies arrive, in the order
/// each thread sent them. Completions and `onStateChange` run on that thread: keep them short,
/// and hand real work elsewhere. Calling `send` from a completion is fine.
///
/// Connection: the client connects at once and reconnects by itself (AUTH and SELECT again each
/// time). A command is never re-sent. What a command gets while the connection is not up:
/// - `.connecting`: it waits for the attempt, and fails with the attempt's error if that fails;
/// - `.down` (waiting out the backoff delay): it fails at once with `.notConnected`;
/// - sent, and the connection drops: `.connectionLost`; no reply within `commandTimeout`:
///   `.timeout`, and the connection is dropped and re-made.
///
/// Not accepted (`.invalidCommand`), because the connection is shared and re-made: commands
/// that change its mode or its per-connection state (SUBSCRIBE and MONITOR: use
/// `RedisSubscriber`; MULTI/EXEC and WATCH: use a `RedisScript`; SELECT, AUTH, HELLO, RESET:
/// set them in the `RedisEndpoint`).
///
/// Call `shutdown()` before dropping the last reference (deinit does it as a fallback).
public final class RedisClient: Sendable {
    public let endpoint: RedisEndpoint
    private let options: RedisClientOptions
    private let inbox = RedisCommandInbox()
    private let stateCell: RedisStateCell
    private let thread: RedisThread

    /// `onStateChange` gets every state change, on the command thread, in order.
    public init(endpoint: RedisEndpoint, options: RedisClientOptions = RedisClientOptions(),
                onStateChange: (@Sendable (RedisConnectionState) -> Void)? = nil) {
        self.endpoint = endpoint
        self.options = options
        stateCell = RedisStateCell(onChange: onStateChange)
        let loop = RedisCommandLoop(endpoint: endpoint, options: options, inbox: inbox, state: stateCell)
        thread = RedisThread(name: options.threadName) { loop.run() }
    }

    /// `url` as described in `RedisEndpoint`.
    public convenience init(url: String, options: RedisClientOptions = RedisClientOptions(),
                            onStateChange: (@Sendable (RedisConnectionState) -> Void)? = nil) throws(RedisEndpointError) {
        self.init(endpoint: try RedisEndpoint(url: url), options: options, onStateChange: onStateChange)
    }

    deinit { shutdown() }

    public var state: RedisConnectionState { stateCell.current }

    /// Queues `arguments` (command name first) and returns at once. `completion` is called
    /// exactly once: on the command thread, or at once on the calling thread when the command
    /// is refused (`.invalidCommand`) or the client is shut down (`.shutdown`). A top-level error
    /// reply arrives as `.failure(.server(text))`.
    public func send(_ arguments: [RedisArgument],
                     completion: @escaping @Sendable (Result<RedisValue, RedisError>) -> Void) {
        if let refusal = Self.refusal(of: arguments) {
            completion(.failure(refusal))
            return
        }
        let command = RedisCommandInbox.Command(arguments: arguments, deadline: .now + options.commandTimeout,
                                                completion: completion)
        if !inbox.submit(command) { completion(.failure(.shutdown)) }
    }

    /// `send` for async callers.
    public func send(_ arguments: [RedisArgument]) async throws(RedisError) -> RedisValue {
        let result = await withCheckedContinuation { continuation in
            send(arguments) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Fails every command not yet answered with `.shutdown` (a command already sent may still
    /// have run), closes the connection and waits for the command thread, unless called on it.
    /// Idempotent; later `send`s fail at once with `.shutdown`.
    public func shutdown() {
        inbox.close()
        thread.join()
    }

    /// Commands that would break the shared, re-made connection for everyone else on it.
    private static let refusedCommands: [String: String] = [
        "SUBSCRIBE": "use RedisSubscriber", "PSUBSCRIBE": "use RedisSubscriber", "SSUBSCRIBE": "use RedisSubscriber",
        "UNSUBSCRIBE": "use RedisSubscriber", "PUNSUBSCRIBE": "use RedisSubscriber", "SUNSUBSCRIBE": "use RedisSubscriber",
        "MONITOR": "it takes over the connection", "SYNC": "it takes over the connection", "PSYNC": "it takes over the connection",
        "MULTI": "the connection is shared: use a RedisScript", "EXEC": "the connection is shared: use a RedisScript",
        "DISCARD": "the connection is shared: use a RedisScript", "WATCH": "the connection is shared: use a RedisScript",
        "UNWATCH": "the connection is shared: use a RedisScript",
        "SELECT": "set the database in the RedisEndpoint", "AUTH": "set the password in the RedisEndpoint",
        "HELLO": "hiredis 0.14 speaks RESP2 only", "RESET": "it would undo AUTH and SELECT",
    ]

    private static func refusal(of arguments: [RedisArgument]) -> RedisError? {
        guard let name = arguments.first?.text.uppercased() else { return .invalidCommand("no command name") }
        guard let reason = refusedCommands[name] else { return nil }
        return .invalidCommand("\(name) is not accepted on the command connection: \(reason)")
    }
}
