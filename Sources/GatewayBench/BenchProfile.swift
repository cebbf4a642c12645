/// What `chat-bench suite` runs: every scenario, at sizes that fit a budget. `short` is `make
/// bench` (a few minutes on 2 cores: enough to see every figure move, not to publish), `full` is
/// `make bench-full` (the sizes the issue asks for: idle up to 19k connections, rate sweeps for
/// the saturation points, 1,000 concurrent streams, big rooms, many more latency samples).
public struct BenchProfile: Sendable {
    /// One fan-out shape, run at each rate on every fan-out server.
    struct FanoutShape: Sendable {
        var name: String
        var sessions: Int
        var subscribersPerSession: Int
        var tokensPerSecond: [Double]
        var seconds: Double
    }

    /// The multinode scenario's shape: run on one node in memory, one on Redis and `nodes` on Redis.
    struct MultinodeShape: Sendable {
        var sessions: Int
        var subscribersPerSession: Int
        var tokensPerSecond: [Double]
        var seconds: Double
        var nodes = 3
        var backgroundSeconds = 1.0
    }

    public var name: String
    var idleConnections: [Int]
    var idleHoldSeconds: Double
    var fanoutShapes: [FanoutShape]
    var multinode: MultinodeShape
    var ttftTurns: Int
    var stops: Int

    /// The servers each load scenario compares.
    static let idleServers: [ServerKind] = [.gateway, .lwsCeiling, .nchan]
    static let fanoutServers: [ServerKind] = [.gateway, .gatewayUpstream, .lwsCeiling, .nchan]

    public static let short = BenchProfile(
        name: "short", idleConnections: [1000], idleHoldSeconds: 2,
        fanoutShapes: [FanoutShape(name: "rooms-100x10", sessions: 100, subscribersPerSession: 10, tokensPerSecond: [20, 100], seconds: 4),
                       FanoutShape(name: "streams-1000x1", sessions: 1000, subscribersPerSession: 1, tokensPerSecond: [20], seconds: 4)],
        // Small enough for 3 layouts x 2 rates in about half a minute; 100 tokens/s is where one node
        // starts to merge deltas here, so the higher rate is the one that says something.
        multinode: MultinodeShape(sessions: 50, subscribersPerSession: 6, tokensPerSecond: [20, 100], seconds: 2),
        ttftTurns: 200, stops: 50)

    public static let full = BenchProfile(
        name: "full", idleConnections: [1000, 10_000, 19_000], idleHoldSeconds: 2,
        fanoutShapes: [FanoutShape(name: "rooms-100x10", sessions: 100, subscribersPerSession: 10,
                                   tokensPerSecond: [10, 20, 50, 100, 200, 400], seconds: 10),
                       FanoutShape(name: "streams-1000x1", sessions: 1000, subscribersPerSession: 1,
                                   tokensPerSecond: [5, 10, 20, 50], seconds: 10),
                       FanoutShape(name: "rooms-10x1000", sessions: 10, subscribersPerSession: 1000,
                                   tokensPerSecond: [2, 5, 10, 20], seconds: 10)],
        multinode: MultinodeShape(sessions: 200, subscribersPerSession: 10, tokensPerSecond: [10, 20, 50, 100, 200, 400], seconds: 5,
                                  backgroundSeconds: 3),
        ttftTurns: 1000, stops: 200)

    /// The one for a tiny smoke run: every scenario, every server, a few connections and tokens.
    public static let smoke = BenchProfile(
        name: "smoke", idleConnections: [6], idleHoldSeconds: 0,
        fanoutShapes: [FanoutShape(name: "rooms-2x3", sessions: 2, subscribersPerSession: 3, tokensPerSecond: [50], seconds: 0.2),
                       FanoutShape(name: "streams-4x1", sessions: 4, subscribersPerSession: 1, tokensPerSecond: [50], seconds: 0.2)],
        multinode: MultinodeShape(sessions: 2, subscribersPerSession: 3, tokensPerSecond: [50], seconds: 0.2, backgroundSeconds: 0.2),
        ttftTurns: 4, stops: 2)

    public static func named(_ name: String) -> BenchProfile? {
        [short, full, smoke].first { $0.name == name }
    }
}
