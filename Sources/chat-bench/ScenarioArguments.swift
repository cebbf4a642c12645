import GatewayBench

/// Each scenario's options from its command line.
enum ScenarioArguments {
    static func costReplay(_ arguments: [String]) throws(UsageError) -> CostReplayCommand.Options {
        var options = CostReplayCommand.Options()
        var flags = FlagReader(arguments, scenario: "cost-replay")
        while let flag = flags.nextFlag() {
            switch flag {
            case "--workload": options.workloadPath = try flags.value(for: flag)
            case "--config": options.configPath = try flags.value(for: flag)
            case "--out": options.outputDirectory = try flags.value(for: flag)
            default: throw flags.unknown(flag)
            }
        }
        return options
    }

    static func idle(_ arguments: [String]) throws(UsageError) -> IdleCommand.Options {
        var options = IdleCommand.Options()
        var flags = FlagReader(arguments, scenario: "idle")
        while let flag = flags.nextFlag() {
            switch flag {
            case "--connections": options.connections = try flags.ints(for: flag, range: 1...1_000_000)
            case "--subscribers": options.subscribersPerSession = try flags.int(for: flag, range: 1...1_000_000)
            case "--hold-seconds": options.holdSeconds = try flags.double(for: flag, range: 0...3600)
            default: try load(flag, &flags, &options.load)
            }
        }
        return options
    }

    static func fanout(_ arguments: [String]) throws(UsageError) -> FanoutCommand.Options {
        var options = FanoutCommand.Options()
        var flags = FlagReader(arguments, scenario: "fanout")
        while let flag = flags.nextFlag() {
            switch flag {
            case "--sessions": options.sessions = try flags.int(for: flag, range: 1...10_000)
            case "--subscribers": options.subscribersPerSession = try flags.int(for: flag, range: 1...100_000)
            case "--tokens-per-second": options.tokensPerSecond = try flags.doubles(for: flag, range: 0.1...100_000)
            case "--tokens": options.tokens = try flags.int(for: flag, range: 1...1_000_000)
            case "--seconds": options.seconds = try flags.double(for: flag, range: 0.1...3600)
            case "--latency-target-ms": options.latencyTargetMilliseconds = try flags.double(for: flag, range: 0.1...60_000)
            case "--stagger-ms": options.staggerMilliseconds = try flags.double(for: flag, range: 0...600_000)
            default: try load(flag, &flags, &options.load)
            }
        }
        if options.tokens != nil && options.seconds != nil { throw UsageError("give --tokens or --seconds, not both") }
        return options
    }

    static func multinode(_ arguments: [String]) throws(UsageError) -> MultinodeCommand.Options {
        var options = MultinodeCommand.Options()
        var flags = FlagReader(arguments, scenario: "multinode")
        while let flag = flags.nextFlag() {
            switch flag {
            case "--sessions": options.sessions = try flags.int(for: flag, range: 1...10_000)
            case "--subscribers": options.subscribersPerSession = try flags.int(for: flag, range: 1...100_000)
            case "--tokens-per-second": options.tokensPerSecond = try flags.doubles(for: flag, range: 0.1...100_000)
            case "--tokens": options.tokens = try flags.int(for: flag, range: 1...1_000_000)
            case "--seconds": options.seconds = try flags.double(for: flag, range: 0.1...3600)
            case "--nodes": options.nodes = try flags.int(for: flag, range: 2...26)
            case "--processes-per-node": options.processesPerNode = try flags.int(for: flag, range: 1...50)
            case "--background-seconds": options.backgroundSeconds = try flags.double(for: flag, range: 0...600)
            case "--latency-target-ms": options.latencyTargetMilliseconds = try flags.double(for: flag, range: 0.1...60_000)
            case "--stagger-ms": options.staggerMilliseconds = try flags.double(for: flag, range: 0...600_000)
            case "--processes", "--servers", "--url", "--pid":
                throw UsageError("\(flag) is not for multinode: it starts its own nodes (--nodes) and client processes (--processes-per-node)")
            default: try load(flag, &flags, &options.load)
            }
        }
        if options.tokens != nil && options.seconds != nil { throw UsageError("give --tokens or --seconds, not both") }
        return options
    }

    static func redisOps(_ arguments: [String]) throws(UsageError) -> RedisOpsCommand.Options {
        var options = RedisOpsCommand.Options()
        var flags = FlagReader(arguments, scenario: "redis-ops")
        while let flag = flags.nextFlag() {
            switch flag {
            case "--turns": options.turns = try flags.int(for: flag, range: 1...10_000)
            case "--tokens": options.tokens = try flags.int(for: flag, range: 1...1_000_000)
            case "--tokens-per-second": options.tokensPerSecond = try flags.double(for: flag, range: 0.1...100_000)
            case "--background-seconds": options.backgroundSeconds = try flags.double(for: flag, range: 0...600)
            case "--gateway": options.load.gatewayBinary = try flags.value(for: flag)
            case "--out": options.load.outputDirectory = try flags.value(for: flag)
            case "--label": options.load.label = try label(&flags, flag)
            default: throw flags.unknown(flag)
            }
        }
        return options
    }

    static func ttft(_ arguments: [String]) throws(UsageError) -> TTFTCommand.Options {
        var options = TTFTCommand.Options()
        var flags = FlagReader(arguments, scenario: "ttft")
        while let flag = flags.nextFlag() {
            switch flag {
            case "--turns": options.turns = try flags.int(for: flag, range: 1...100_000)
            case "--warmup": options.warmupTurns = try flags.int(for: flag, range: 0...10_000)
            case "--tokens": options.tokensPerTurn = try flags.int(for: flag, range: 1...10_000)
            default: try probe(flag, &flags, &options.gatewayBinary, &options.outputDirectory, &options.label)
            }
        }
        return options
    }

    static func stop(_ arguments: [String]) throws(UsageError) -> StopCommand.Options {
        var options = StopCommand.Options()
        var flags = FlagReader(arguments, scenario: "stop")
        while let flag = flags.nextFlag() {
            switch flag {
            case "--stops": options.stops = try flags.int(for: flag, range: 1...100_000)
            case "--after-ms": options.afterMilliseconds = try flags.double(for: flag, range: 0...60_000)
            case "--tokens-per-second": options.tokensPerSecond = try flags.double(for: flag, range: 0.1...100_000)
            default: try probe(flag, &flags, &options.gatewayBinary, &options.outputDirectory, &options.label)
            }
        }
        return options
    }

    static func suite(_ arguments: [String]) throws(UsageError) -> SuiteCommand.Options {
        var options = SuiteCommand.Options()
        var flags = FlagReader(arguments, scenario: "suite")
        while let flag = flags.nextFlag() {
            switch flag {
            case "--profile":
                let name = try flags.value(for: flag)
                guard let profile = BenchProfile.named(name) else {
                    throw UsageError("--profile is short, full or smoke, got '\(name)'")
                }
                options.profile = profile
            case "--workload": options.workloadPath = try flags.value(for: flag)
            case "--gateway": options.load.gatewayBinary = try flags.value(for: flag)
            case "--ceiling": options.load.ceilingBinary = try flags.value(for: flag)
            case "--nginx": options.load.nginxBinary = try flags.value(for: flag)
            case "--out": options.load.outputDirectory = try flags.value(for: flag)
            default: throw flags.unknown(flag)
            }
        }
        return options
    }

    /// The options of the latency scenarios, which always start their own gateway and upstream.
    private static func probe(_ flag: String, _ flags: inout FlagReader, _ gateway: inout String?,
                              _ output: inout String, _ label: inout String?) throws(UsageError) {
        switch flag {
        case "--gateway": gateway = try flags.value(for: flag)
        case "--out": output = try flags.value(for: flag)
        case "--label": label = try self.label(&flags, flag)
        default: throw flags.unknown(flag)
        }
    }

    private static func label(_ flags: inout FlagReader, _ flag: String) throws(UsageError) -> String {
        let label = try flags.value(for: flag)
        guard !label.isEmpty, label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
            throw UsageError("--label must be letters, digits and dashes, got '\(label)'")
        }
        return label
    }

    /// The options every load scenario shares.
    private static func load(_ flag: String, _ flags: inout FlagReader, _ options: inout LoadOptions) throws(UsageError) {
        switch flag {
        case "--processes": options.processes = try flags.int(for: flag, range: 1...200)
        case "--connect-rate": options.connectsPerSecond = try flags.double(for: flag, range: 0...1_000_000)
        case "--max-pending": options.maxPendingConnects = try flags.int(for: flag, range: 1...100_000)
        case "--gateway": options.gatewayBinary = try flags.value(for: flag)
        case "--ceiling": options.ceilingBinary = try flags.value(for: flag)
        case "--nginx": options.nginxBinary = try flags.value(for: flag)
        case "--servers":
            let text = try flags.value(for: flag)
            let kinds = text.split(separator: ",").compactMap { ServerKind(rawValue: String($0)) }
            guard !kinds.isEmpty, kinds.count == text.split(separator: ",").count else {
                throw UsageError("--servers takes \(ServerKind.allCases.map(\.rawValue).joined(separator: ", ")), comma-separated, got '\(text)'")
            }
            options.servers = kinds
        case "--url": options.url = try flags.value(for: flag)
        case "--pid": options.pid = Int32(try flags.int(for: flag, range: 1...Int(Int32.max)))
        case "--out": options.outputDirectory = try flags.value(for: flag)
        case "--label": options.label = try label(&flags, flag)
        default: throw flags.unknown(flag)
        }
    }
}
