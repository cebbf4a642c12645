// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "chat-gateway",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "chat-gateway", targets: ["chat-gateway"]),
        .executable(name: "chat-bench", targets: ["chat-bench"]),
    ],
    targets: [
        // System libraries from Debian: module map + one header each, linked through pkg-config.
        .systemLibrary(name: "CWebSockets", pkgConfig: "libwebsockets", providers: [.apt(["libwebsockets-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        // What Swift cannot call directly: macro values and typed wrappers of variadic functions.
        .target(name: "CGatewayShims", dependencies: ["CWebSockets", "CCurl"]),

        // Pure Swift: protocol, session log, fan-out cursors, turns, SSE parsing, config. No C.
        .target(name: "GatewayCore"),
        // libwebsockets server; the only module that imports libwebsockets.
        .target(name: "GatewayWebSocket", dependencies: ["GatewayCore", "CWebSockets", "CGatewayShims"]),
        // libcurl multi loop and the HTTP providers; the only module that imports libcurl.
        .target(name: "GatewayLLM", dependencies: ["GatewayCore", "CCurl", "CGatewayShims"]),
        // hiredis command and pub/sub connections, each on its own thread; the only module that imports hiredis.
        .target(name: "GatewayRedis", dependencies: ["CHiredis"]),
        // The load generator's libwebsockets: the client pool, and the streaming HTTP server the
        // benchmark's upstream fixture runs on; the only other module that imports libwebsockets
        // (kept apart so the gateway's server module carries no bench code).
        .target(name: "GatewayWSClient", dependencies: ["CWebSockets", "CGatewayShims"]),
        // The Redis backends of the multi-node mode (session log, turn queue, presence, rate limits)
        // on GatewayRedis's Swift API: Lua scripts and key layout, no C.
        .target(name: "GatewayCluster", dependencies: ["GatewayCore", "GatewayRedis"]),
        // Wiring, lifecycle, signals.
        .target(name: "GatewayApp", dependencies: ["GatewayCore", "GatewayWebSocket", "GatewayLLM", "GatewayCluster"]),
        .executableTarget(name: "chat-gateway", dependencies: ["GatewayApp"]),

        // Benchmarks: scenarios in GatewayBench, argument parsing in chat-bench. No C of their own:
        // WebSockets (and the upstream fixture's HTTP server) go through GatewayWSClient, HTTP
        // requests (direct upstream calls, nchan's publisher) through GatewayLLM's curl client,
        // the multi-node runs' INFO readings through GatewayRedis's client.
        .target(name: "GatewayBench", dependencies: ["GatewayCore", "GatewayWSClient", "GatewayLLM", "GatewayRedis"]),
        .executableTarget(name: "chat-bench", dependencies: ["GatewayBench"]),

        // What several test targets read frames with.
        .target(name: "GatewayTestSupport", dependencies: ["GatewayCore"], path: "Tests/GatewayTestSupport"),
        .testTarget(name: "GatewayCoreTests", dependencies: ["GatewayCore", "GatewayTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "GatewayLLMTests", dependencies: ["GatewayLLM", "GatewayCore"]),
        .testTarget(name: "GatewayWebSocketTests", dependencies: ["GatewayWebSocket", "GatewayCore"]),
        // A redis-server of each test's own (started, killed, paused), for the Redis-backed tests.
        .target(name: "RedisTestSupport", path: "Tests/RedisTestSupport"),
        .testTarget(name: "GatewayRedisTests", dependencies: ["GatewayRedis", "RedisTestSupport"]),
        // Both session-store backends against one behaviour suite, and the other Redis backends.
        .testTarget(name: "GatewayClusterTests", dependencies: ["GatewayCluster", "GatewayCore", "GatewayRedis", "RedisTestSupport", "GatewayTestSupport"]),
        // The load client's frame reader, histogram, plan and chat.v1 state machine; no sockets.
        .testTarget(name: "GatewayBenchTests", dependencies: ["GatewayBench", "GatewayWSClient"]),
        // The client pool against the gateway's own server, and the streaming HTTP server against
        // the gateway's curl client, over loopback.
        .testTarget(name: "GatewayWSClientTests", dependencies: ["GatewayWSClient", "GatewayWebSocket", "GatewayCore", "GatewayLLM"]),
    ],
    swiftLanguageModes: [.v6]
)
