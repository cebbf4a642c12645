import Foundation
import GatewayCore
import GatewayLLM

/// `chat-bench ttft`: time from sending a message to its turn's first `turn.delta`, through the
/// gateway, against the time from sending the same request straight to the same upstream to its
/// first decoded text (`DirectUpstreamCall`: the gateway's own dialect, curl client and decoder).
/// The upstream answers with its first token at once, so both times are transport and software;
/// their difference at p50 and p99 is what the gateway adds. Turns run one at a time, a gateway
/// turn and a direct call alternately (which goes first alternates too), so background load on the
/// machine falls on both alike. Times are the client's wall clock, µs.
public enum TTFTCommand {
    public struct Options: Sendable {
        public var turns = 200
        /// Discarded first: connection set-up, first allocations.
        public var warmupTurns = 10
        /// Each turn's length at the upstream: short, so turns follow each other quickly.
        public var tokensPerTurn = 3
        public var tokensPerSecond = 1000.0
        public var gatewayBinary: String?
        public var outputDirectory = "bench/results"
        public var label: String?
        public init() {}
    }

    @discardableResult
    public static func run(_ options: Options, print report: (String) -> Void) throws -> String {
        report("ttft: \(options.turns) turns through the gateway and \(options.turns) straight to the upstream, alternately...")
        let result = try measure(options)
        report(result.markdown.joined(separator: "\n"))
        let path = try ResultsFile.write(result.json, scenario: "ttft", label: options.label, directory: options.outputDirectory)
        report("\nwrote \(path)")
        return path
    }

    static func measure(_ options: Options) throws -> TTFTMeasurement {
        let rig = try ProbeRig(gatewayBinary: options.gatewayBinary, tokensPerSecond: options.tokensPerSecond,
                               tokensPerTurn: options.tokensPerTurn, session: "ttft-\(getpid())")
        defer { rig.stop() }
        let client = HTTPStreamClient(name: "ttft-direct")
        defer { client.shutdown() }
        // The request the gateway sends for a turn (history_messages 0): system prompt, new message.
        let dialect = OpenAIDialect(baseURL: rig.upstream.baseURL, builder: OpenAIRequestBuilder(model: "bench-upstream"))
        let systemPrompt = GatewayConfig().llm.systemPrompt

        var measurement = TTFTMeasurement(turns: options.turns, tokensPerTurn: options.tokensPerTurn)
        for index in 0..<(options.warmupTurns + options.turns) {
            let counted = index >= options.warmupTurns
            let gatewayFirst = index % 2 == 0
            for path in gatewayFirst ? [true, false] : [false, true] {
                if path {
                    let sent = rig.send(rig.probe.message(id: "ttft-\(index)", text: "ttft gateway \(index)"))
                    let first = try rig.probe.await("the first turn.delta of turn \(index)", within: 30) {
                        if case .firstDelta = $0 { return true } else { return false }
                    }
                    _ = try rig.probe.await("the turn.end of turn \(index)", within: 30) {
                        if case .turnEnd(finish: "stop", _) = $0 { return true } else { return false }
                    }
                    if counted, case .firstDelta(let at) = first { measurement.gateway.record(at - sent) }
                } else {
                    let request = ChatRequest(session: "direct", turn: "t\(index)",
                                              messages: [ChatMessage(role: .system, content: systemPrompt),
                                                         ChatMessage(role: .user, content: "ttft direct \(index)")])
                    let elapsed = try DirectUpstreamCall.timeToFirstText(request, dialect: dialect, client: client, timeoutSeconds: 30)
                    if counted { measurement.direct.record(elapsed) }
                }
            }
        }
        return measurement
    }
}
