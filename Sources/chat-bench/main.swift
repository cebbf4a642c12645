@preconcurrency import Glibc
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
  idle          open N connections (hello + join), hold them; gateway RSS per connection, connect rate
                --connections N[,N...]  one run per N, each on a fresh gateway (default 1000)
                --subscribers K         K connections per session (default 1: a session each)
                --hold-seconds S        how long they are held before measuring (default 2)
  fanout        S sessions x K subscribers; one per session sends a message and the model streams (nchan:
                chat-bench publishes); frames/s, tokens/s, event latency (now - ts) p50/p99/p99.9, token
                latency from the upstream's or publisher's write where tokens carry it, server CPU and RSS
                --sessions S               (default 10)
                --subscribers K            per session (default 10)
                --tokens-per-second R[,R]  model (or publisher) rate; one run per rate (default 20)
                --tokens T | --seconds D   turn length in tokens, or D seconds at each rate (default 60 tokens)
                --latency-target-ms MS     p99 bound for the saturation point of a sweep (default 50)
                --stagger-ms MS            spread the turn starts over MS (default one token interval, 1000/R;
                                           0 starts every turn at once, so every token lands in the same instant)
  multinode     the fanout scenario on N gateway nodes sharing one redis-server (started by chat-bench, no
                persistence), each session's subscribers round-robin over the nodes, against one node in memory
                and one node on Redis, each at every rate: frames/s, tokens/s, latency, every node's CPU and RSS,
                redis-server's CPU, Redis commands per token and per turn (INFO commandstats deltas), N vs 1 node
                --sessions S, --subscribers K, --tokens-per-second R[,R], --tokens T | --seconds D,
                --latency-target-ms MS, --stagger-ms MS   as for fanout (default 20 x 6 at 20 tokens/s, 60 tokens)
                --nodes N                 gateway nodes on Redis (default 3)
                --processes-per-node P    client processes per node, each connected to one node (default 1)
                --background-seconds S    idle window before the turns for the nodes' own Redis commands (default 1)
                --connect-rate, --max-pending, --gateway, --out, --label as below
  redis-ops     Redis commands per token and per turn in the multi-node mode, alone: 2 nodes on a redis-server of
                its own, N sessions each with its sender on node a (which runs every turn) and one subscriber on
                node b; INFO commandstats and total_commands_processed deltas over the turns, per command
                --turns N (default 20)  --tokens T per turn (default 100)  --tokens-per-second R (default 200)
                --background-seconds S  idle window first, for the nodes' own commands (default 2)
                --gateway PATH, --out DIR, --label NAME as below

  ttft          time from a message to its first turn.delta through the gateway (streaming from chat-bench's
                HTTP upstream, first token at once) vs the same request straight to that upstream with the
                gateway's curl client and decoder, alternately; the gateway's added latency p50/p99
                --turns N        counted turns on each path (default 200)
                --warmup N       turns first discarded on each path (default 10)
                --tokens T       tokens per reply at 1000 tokens/s (default 3)
  stop          time from a client's stop to the upstream seeing its connection closed (the upstream
                process's clock reading), and to the client's turn.end; one turn at a time
                --stops N              (default 50)
                --after-ms MS          stream this long after the first delta before stopping (default 50)
                --tokens-per-second R  the upstream's rate (default 20)
  ttft and stop take --gateway PATH, --out DIR, --label NAME (as below) and start their own gateway and upstream.
  suite         every scenario above in one run at the sizes of a profile, then one results file for all,
                bench/results/<date>.json (full: <date>-full.json), and <date>.md: every figure side by side
                (gateway, gateway with an HTTP upstream, lws-ceiling, nginx + nchan), the ratios and the targets
                --profile short|full|smoke  short: make bench (a few minutes); full: make bench-full; smoke: tiny
                --gateway, --ceiling, --nginx, --out as below; --workload as for cost-replay

options of idle and fanout:
  --processes P      client processes, each on its own 127.0.x.y source address (default: one per 15,000 connections)
  --connect-rate N   connection attempts per second over all processes (default 0: as fast as --max-pending allows)
  --max-pending N    connection attempts in flight per process (default 256)
  --servers LIST     gateway (demo model), gateway-upstream (the gateway streaming from chat-bench's own
                     OpenAI-compatible HTTP upstream, through libcurl), lws-ceiling (the raw libwebsockets ceiling
                     in bench/lws-ceiling), nchan (nginx + libnginx-mod-nchan; for fanout chat-bench posts the
                     tokens to its HTTP publisher): each run on each, side by side (default gateway)
  --gateway PATH     chat-gateway to start for each run (default: next to chat-bench)
  --ceiling PATH     lws-ceiling to start (default .build/bench/lws-ceiling, built by make bench-ceiling)
  --nginx PATH       nginx to start for nchan (default /usr/sbin/nginx)
  --url URL --pid N  measure a running gateway instead (ws://127.0.0.1:PORT/v1/ws and its pid)
  --out DIR          where <scenario>-<date>.json goes (default bench/results)
  --label NAME       name the results <scenario>-NAME-<date>.json (several profiles on one day)

Exit status: 0 done, 1 the scenario failed, 2 bad arguments.
"""

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("chat-bench: \(message)\n".utf8))
    exit(status)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let scenario = arguments.first else { fail("no scenario given\n\n\(usage)", status: 2) }
arguments.removeFirst()
if scenario == "--help" || scenario == "-h" || arguments.contains("--help") || arguments.contains("-h") {
    print(usage)
    exit(0)
}
// stdout may be a pipe read line by line (make, the smoke test): do not hold lines back.
setvbuf(stdout, nil, _IOLBF, 0)

do {
    switch scenario {
    case BenchWorker.command:
        guard arguments.count == 1 else { fail("\(BenchWorker.command) takes one plan argument", status: 2) }
        exit(BenchWorker.run(planJSON: arguments[0]))
    case BenchUpstream.command:
        guard arguments.count == 1 else { fail("\(BenchUpstream.command) takes one settings argument", status: 2) }
        exit(BenchUpstream.run(settingsJSON: arguments[0]))
    case "cost-replay":
        let options = try ScenarioArguments.costReplay(arguments)
        do { try CostReplayCommand.run(options) { print($0) } } catch { fail("\(error)", status: 1) }
    case "idle":
        let options = try ScenarioArguments.idle(arguments)
        do { try IdleCommand.run(options) { print($0) } } catch { fail("\(error)", status: 1) }
    case "fanout":
        let options = try ScenarioArguments.fanout(arguments)
        do { try FanoutCommand.run(options) { print($0) } } catch { fail("\(error)", status: 1) }
    case "multinode":
        let options = try ScenarioArguments.multinode(arguments)
        do { try MultinodeCommand.run(options) { print($0) } } catch { fail("\(error)", status: 1) }
    case "redis-ops":
        let options = try ScenarioArguments.redisOps(arguments)
        do { try RedisOpsCommand.run(options) { print($0) } } catch { fail("\(error)", status: 1) }
    case "suite":
        let options = try ScenarioArguments.suite(arguments)
        do { try SuiteCommand.run(options) { print($0) } } catch { fail("\(error)", status: 1) }
    case "ttft":
        let options = try ScenarioArguments.ttft(arguments)
        do { try TTFTCommand.run(options) { print($0) } } catch { fail("\(error)", status: 1) }
    case "stop":
        let options = try ScenarioArguments.stop(arguments)
        do { try StopCommand.run(options) { print($0) } } catch { fail("\(error)", status: 1) }
    default:
        fail("unknown scenario '\(scenario)'\n\n\(usage)", status: 2)
    }
} catch {
    fail("\(error)\n\n\(usage)", status: 2)
}
