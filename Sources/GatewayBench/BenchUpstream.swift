import Foundation
import GatewayWSClient

/// The hidden `chat-bench __upstream SETTINGS-JSON` command: the `SSEUpstream` in a process of its
/// own (its CPU is measured apart from the gateway's and the load generator's, and it runs its own
/// libev loop). It prints `listening {"port":N}` once it listens, then `closed <UpstreamClose>`
/// for every request as its connection goes away, and exits when its stdin ends.
public enum BenchUpstream {
    public static let command = "__upstream"

    public static func run(settingsJSON: String) -> Int32 {
        let settings: UpstreamSettings
        do { settings = try JSONDecoder().decode(UpstreamSettings.self, from: Data(settingsJSON.utf8)) } catch {
            FileHandle.standardError.write(Data("chat-bench upstream: bad settings: \(error)\n".utf8))
            return 2
        }
        // One socket per stream; the gateway may hold thousands at once.
        do { try FileLimits.raiseOpenFiles(toAtLeast: FileLimits.hardLimit) } catch {
            FileHandle.standardError.write(Data("chat-bench upstream: \(error)\n".utf8))
            return 1
        }
        let output = ChildOutput()
        let upstream = SSEUpstream(settings: settings) { output.line("closed", $0) }
        var options = StreamingHTTPServerOptions()
        options.host = settings.host
        options.port = settings.port
        let server = StreamingHTTPServer(options: options, handler: upstream)
        do { try server.start() } catch {
            FileHandle.standardError.write(Data("chat-bench upstream: cannot listen on \(settings.host):\(settings.port): \(error)\n".utf8))
            return 1
        }
        output.line("listening", ["port": server.boundPort])
        while readLine() != nil {}
        server.stop()
        return 0
    }
}
