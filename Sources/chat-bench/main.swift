import Foundation
import GatewayBench

// Argument parsing only; each scenario lives in GatewayBench.
let usage = """
usage: chat-bench <scenario> [options]

scenarios:
  cost-replay   replay support conversations naive vs routed + trimmed + cached, and compare cost
                --workload PATH  conversations (default bench/workloads/support-conversations.json)
                --config PATH    models, prices, routing, cache (default bench/cost-replay.json)
                --out DIR        where cost-replay-<date>.json goes (default bench/results)

Exit status: 0 done, 1 the scenario failed, 2 bad arguments.
"""

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("chat-bench: \(message)\n".utf8))
    exit(status)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let scenario = arguments.first else { fail("no scenario given\n\n\(usage)", status: 2) }
arguments.removeFirst()
if scenario == "--help" || scenario == "-h" {
    print(usage)
    exit(0)
}

switch scenario {
case "cost-replay":
    var options = CostReplayCommand.Options()
    while let flag = arguments.first {
        arguments.removeFirst()
        if flag == "--help" || flag == "-h" { print(usage); exit(0) }
        guard let value = arguments.first else { fail("\(flag) needs a value", status: 2) }
        arguments.removeFirst()
        switch flag {
        case "--workload": options.workloadPath = value
        case "--config": options.configPath = value
        case "--out": options.outputDirectory = value
        default: fail("unknown option \(flag) for cost-replay\n\n\(usage)", status: 2)
        }
    }
    do {
        try CostReplayCommand.run(options) { print($0) }
    } catch {
        fail("\(error)", status: 1)
    }
default:
    fail("unknown scenario '\(scenario)'\n\n\(usage)", status: 2)
}
