import Foundation

/// What every load scenario needs to know besides its own shape: which gateway to measure, how
/// many client processes to use and how fast they connect, where the results go.
public struct LoadOptions: Sendable {
    /// The servers each run is measured on, one after the other, each started fresh.
    public var servers: [ServerKind] = [.gateway]
    /// The `chat-gateway` to start (default: the one next to chat-bench, same build).
    public var gatewayBinary: String?
    /// The `lws-ceiling` to start (`make bench-ceiling` builds it there).
    public var ceilingBinary = ".build/bench/lws-ceiling"
    public var nginxBinary = "/usr/sbin/nginx"
    /// Measure a gateway already running instead: its WebSocket URL and its pid (for /proc).
    public var url: String?
    public var pid: Int32?
    /// Client processes; nil picks enough to stay well under the per-process open-files limit.
    public var processes: Int?
    /// Connection attempts per second over all processes; 0: as fast as `maxPendingConnects` allows.
    public var connectsPerSecond: Double = 0
    /// Attempts in flight per process.
    public var maxPendingConnects = 256
    public var outputDirectory = "bench/results"
    /// Added to the results file name (letters, digits, dashes).
    public var label: String?

    public init() {}

    /// Connections one client process is given at most when the count is chosen for you.
    static let connectionsPerProcess = 15_000

    func processes(for connections: Int) -> Int {
        processes ?? max(1, (connections + Self.connectionsPerProcess - 1) / Self.connectionsPerProcess)
    }

    /// The server for one run: started fresh (so its memory baseline is clean) or the attached one.
    func server(_ kind: ServerKind, _ configure: (inout ServerUnderTest.Launch) -> Void) throws -> ServerUnderTest {
        if let url {
            guard let pid else { throw BenchError("--url needs --pid (the gateway's process, for its memory and CPU)") }
            guard servers.count == 1 else { throw BenchError("--url measures one running server: no --servers list with it") }
            return try ServerUnderTest.attach(url: url, pid: pid)
        }
        let binary: String
        switch kind {
        case .gateway, .gatewayUpstream: binary = try gatewayBinary ?? Self.siblingGateway()
        case .lwsCeiling: binary = ceilingBinary
        case .nchan: binary = nginxBinary
        }
        var launch = ServerUnderTest.Launch(kind: kind, binary: binary)
        configure(&launch)
        return try ServerUnderTest.launch(launch)
    }

    /// Every process involved must be allowed its sockets: each client process its share plus a
    /// margin, and a gateway started here all of them plus `extraServerSockets` (its upstream
    /// connections; it inherits our raised limit).
    func checkFileLimits(connections: Int, processes: Int, launchingGateway: Bool, extraServerSockets: Int = 0) throws {
        let perProcess = (connections + processes - 1) / processes + 64
        try FileLimits.raiseOpenFiles(toAtLeast: launchingGateway ? connections + extraServerSockets + 256 : perProcess)
        guard perProcess <= FileLimits.hardLimit else {
            throw BenchError("\(perProcess) sockets per client process exceed the open-files limit \(FileLimits.hardLimit): use more --processes")
        }
    }

    private static func siblingGateway() throws -> String {
        let own = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        return URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("chat-gateway").path
    }
}
