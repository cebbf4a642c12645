import Dispatch
import Foundation
import GatewayCore
@preconcurrency import Glibc

/// The `chat-gateway` command: parse, load config, run until SIGINT/SIGTERM, stop cleanly.
public enum GatewayMain {
    public static func run(arguments: [String], environment: [String: String]) -> Int32 {
        let options: CommandLineOptions
        do { options = try CommandLineOptions.parse(arguments) } catch {
            Log.plain("chat-gateway: \(error)")
            return 2
        }
        if options.showHelp {
            print(CommandLineOptions.usage)
            return 0
        }
        let config: GatewayConfig
        do { config = try loadConfig(options, environment: environment) } catch {
            Log.plain("chat-gateway: \(error)")
            return 2
        }
        signal(SIGPIPE, SIG_IGN)
        #if !os(Linux)
        // kqueue reports signals only alongside their normal delivery: keep that from killing us.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        #endif
        // On Linux, libdispatch installs its own handler for a signal source when it registers the
        // source, on its manager thread, some time after resume(). A SIGINT/SIGTERM before then gets
        // the disposition in place: ignored, it would be lost and the node would run on (seen on a
        // busy machine after the listening line). So nothing is ignored (an early signal just ends
        // the process), and start-up waits until both sources are registered.
        let stopRequested = DispatchSemaphore(value: 0)
        let registered = DispatchSemaphore(value: 0)
        let signals = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stopRequested.signal() }
            source.setRegistrationHandler { registered.signal() }
            source.resume()
            return source
        }
        for _ in signals { registered.wait() }
        let gateway: Gateway
        do {
            gateway = try Gateway(config: config, environment: environment, workerOnly: options.workerOnly)
            try gateway.start()
        } catch {
            Log.plain("chat-gateway: \(error)")
            return 1
        }
        Log.announce("chat-gateway listening on http://\(config.server.host):\(gateway.boundPort)")
        stopRequested.wait()
        Log.info("stopping")
        gateway.stop()
        signals.forEach { $0.cancel() }
        Log.info("stopped")
        return 0
    }

    static func loadConfig(_ options: CommandLineOptions, environment: [String: String]) throws -> GatewayConfig {
        let path = options.configPath ?? environment["CHAT_GATEWAY_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        var bytes: [UInt8]?
        if let path {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError(key: "", problem: "cannot read config file '\(path)'")
            }
            bytes = [UInt8](data)
        }
        var config = try ConfigLoader.load(json: bytes, environment: environment)
        if let host = options.host { config.server.host = host }
        if let port = options.port { config.server.port = port }
        if let root = options.staticRoot { config.server.staticRoot = root }
        if options.echoEndpoint { config.server.echoEndpoint = true }
        if let node = options.nodeID { config.nodeID = node }
        if let root = config.server.staticRoot {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ConfigError(key: "server.static_root", problem: "'\(root)' is not a directory (run from the repository root, or set it)")
            }
        }
        return config
    }
}
