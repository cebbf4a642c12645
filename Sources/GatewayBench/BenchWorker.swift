import Foundation
import GatewayWSClient
import Synchronization

/// The hidden `chat-bench __worker PLAN-JSON` command: one client process of a load run (see
/// `WorkerPlan` for its conversation with the coordinator). Everything it prints on stdout is a
/// protocol line; diagnostics go to stderr.
public enum BenchWorker {
    public static let command = "__worker"

    public static func run(planJSON: String) -> Int32 {
        let plan: WorkerPlan
        do { plan = try JSONDecoder().decode(WorkerPlan.self, from: Data(planJSON.utf8)) } catch {
            FileHandle.standardError.write(Data("chat-bench worker: bad plan: \(error)\n".utf8))
            return 2
        }
        do { try FileLimits.raiseOpenFiles(toAtLeast: plan.load.localCount + 64) } catch {
            FileHandle.standardError.write(Data("chat-bench worker: \(error)\n".utf8))
            return 1
        }
        let client = ChatLoadClient(plan: plan.load, expectedTokensPerTurn: plan.expectedTokensPerTurn)
        var options = WebSocketClientOptions()
        options.host = plan.host
        options.port = plan.port
        options.path = plan.path
        options.subprotocol = plan.subprotocol
        options.sourceAddress = plan.sourceAddress
        options.connections = plan.load.localCount
        options.connectsPerSecond = plan.connectsPerSecond
        options.maxPendingConnects = plan.maxPendingConnects
        let pool = WebSocketClientPool(options: options, handler: client)
        client.noteConnectStart()
        do { try pool.start() } catch {
            FileHandle.standardError.write(Data("chat-bench worker: cannot start the client: \(error)\n".utf8))
            return 1
        }
        let output = ChildOutput()
        let progress = client.progress
        let planned = plan.load.localCount
        waitUntil(seconds: plan.readyTimeoutSeconds) {
            progress.joined.load(ordering: .relaxed) + progress.unjoinedFinished.load(ordering: .relaxed) >= planned
        }
        output.line("ready", status(client, pool))

        while let command = readLine() {
            switch command {
            case "go":
                sendStaggered(client, pool, over: plan.staggerMilliseconds)
                DispatchQueue.global().async {
                    waitUntil(seconds: plan.turnTimeoutSeconds) {
                        progress.settled.load(ordering: .relaxed) >= progress.joined.load(ordering: .relaxed)
                    }
                    output.line("done", status(client, pool))
                }
            case "finish":
                finish(client, pool, output)
                return 0
            default:
                FileHandle.standardError.write(Data("chat-bench worker: unknown command '\(command)'\n".utf8))
            }
        }
        finish(client, pool, output)
        return 0
    }

    private static func finish(_ client: ChatLoadClient, _ pool: WebSocketClientPool, _ output: ChildOutput) {
        client.progress.stopping.store(true, ordering: .relaxed)
        pool.stop()
        output.line("tally", client.finalTally())
    }

    private static func status(_ client: ChatLoadClient, _ pool: WebSocketClientPool) -> WorkerStatus {
        let progress = client.progress
        return WorkerStatus(planned: client.plan.localCount, joined: progress.joined.load(ordering: .relaxed),
                            unjoined: progress.unjoinedFinished.load(ordering: .relaxed),
                            settled: progress.settled.load(ordering: .relaxed), open: pool.counters.open,
                            atMilliseconds: WallClock.milliseconds())
    }

    /// Sends each turn's message at its place in the stagger window, one batch per millisecond.
    private static func sendStaggered(_ client: ChatLoadClient, _ pool: WebSocketClientPool, over window: Double) {
        let start = DispatchTime.now()
        let batches = Dictionary(grouping: client.turnFrames()) { frame in
            Int(client.plan.startShare(ofLocal: frame.connection) * window)
        }
        for (offset, frames) in batches {
            DispatchQueue.global().asyncAfter(deadline: start + .milliseconds(offset)) { pool.send(frames) }
        }
    }

    /// Polls `done` every 5 ms until it holds or `seconds` pass.
    static func waitUntil(seconds: Double, _ done: () -> Bool) {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while !done() && Date() < deadline { usleep(5_000) }
    }
}
