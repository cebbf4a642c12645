/// `chat-gateway [options]`: what the command line can say. Parsing is separate from running so
/// that `--help` and bad arguments never start anything.
public struct CommandLineOptions: Sendable, Equatable {
    public var configPath: String?
    public var host: String?
    public var port: Int?
    public var staticRoot: String?
    public var echoEndpoint = false
    public var nodeID: String?
    public var showHelp = false
    /// `chat-gateway worker`: runs turns from the shared queue only (no WebSocket listener); needs Redis.
    public var workerOnly = false

    public static let usage = """
        Usage: chat-gateway [options]
               chat-gateway worker [options]

        Runs the chat gateway: WebSocket clients on /v1/ws, the web demo on /, health on /healthz and /readyz.
        With no config file it runs the embedded default: in-memory state, the built-in demo model,
        listening on 127.0.0.1:8080. With Redis (redis.url or CHAT_GATEWAY_REDIS_URL) any number of
        nodes share sessions and turns; `worker` runs a process that only runs turns from the shared
        queue (workers.concurrency of them at once), with health on --port but no WebSocket clients.

        Options:
          --config PATH       JSON config file (see config/gateway.json for every key and its default)
          --host HOST         listen address (overrides server.host)
          --port N            listen port (overrides server.port)
          --static-root DIR   directory served at / (overrides server.static_root)
          --echo-endpoint     enable /v1/echo, the WebSocket echo endpoint for conformance suites
          --node-id ID        this node's name in welcome frames and health output
          -h, --help          show this help

        Environment:
          CHAT_GATEWAY_CONFIG             config file path (when --config is not given)
          CHAT_GATEWAY_HOST, CHAT_GATEWAY_PORT, CHAT_GATEWAY_NODE_ID
          CHAT_GATEWAY_REDIS_URL          e.g. redis://127.0.0.1:6379: the multi-node mode (redis.url)
          CHAT_GATEWAY_OPENAI_BASE_URL    e.g. http://127.0.0.1:8081/v1: makes the default model an
          CHAT_GATEWAY_OPENAI_MODEL       OpenAI-compatible deployment (no config change needed)
          CHAT_GATEWAY_OPENAI_API_KEY     its API key (optional; never logged)
        """

    public init() {}

    public static func parse(_ arguments: [String]) throws(UsageError) -> CommandLineOptions {
        var options = CommandLineOptions()
        var iterator = arguments.makeIterator()
        func value(for flag: String) throws(UsageError) -> String {
            guard let next = iterator.next(), !next.hasPrefix("--") else { throw UsageError("\(flag) needs a value") }
            return next
        }
        var first = true
        while let argument = iterator.next() {
            defer { first = false }
            switch argument {
            case "worker" where first: options.workerOnly = true
            case "--config": options.configPath = try value(for: argument)
            case "--host": options.host = try value(for: argument)
            case "--port":
                let text = try value(for: argument)
                guard let port = Int(text), (1...65535).contains(port) else { throw UsageError("--port must be 1-65535, got '\(text)'") }
                options.port = port
            case "--static-root": options.staticRoot = try value(for: argument)
            case "--echo-endpoint": options.echoEndpoint = true
            case "--node-id": options.nodeID = try value(for: argument)
            case "-h", "--help": options.showHelp = true
            default: throw UsageError("unknown argument '\(argument)' (see --help)")
            }
        }
        return options
    }
}

public struct UsageError: Error, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
