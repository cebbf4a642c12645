import Foundation

/// Which server a load run measures, and how chat-bench starts one on a given loopback port.
public enum ServerKind: String, Sendable, CaseIterable {
    /// chat-gateway itself, its built-in demo model streaming.
    case gateway
    /// chat-gateway with an OpenAI-compatible HTTP upstream instead (chat-bench's `SSEUpstream`,
    /// in a process of its own, at the run's rate): the same run with libcurl, SSE parsing and
    /// the OpenAI decoder in the path.
    case gatewayUpstream = "gateway-upstream"
    /// `bench/lws-ceiling`: a minimal libwebsockets broadcast server in C (no session log, no JSON
    /// work), the ceiling of what the base library does on this machine. Speaks chat.v1 as far as
    /// chat-bench uses it.
    case lwsCeiling = "lws-ceiling"
    /// nginx with libnginx-mod-nchan (Debian): one WebSocket subscriber location, `/sub/<channel>`;
    /// a connection subscribes by connecting, there is no hello or join. In fan-out runs chat-bench
    /// publishes the tokens itself over the HTTP publisher location (`NchanPublisher`).
    case nchan

    /// What a subscriber connection looks like on this server.
    var flavor: ChatLoadPlan.Flavor { self == .nchan ? .nchanSubscriber : .chatV1 }

    var isGateway: Bool { self == .gateway || self == .gatewayUpstream }

    /// Needs chat-bench's upstream process started first.
    var needsUpstream: Bool { self == .gatewayUpstream }

    var howToBuild: String {
        switch self {
        case .gateway, .gatewayUpstream: return "build it, or pass --gateway or --url/--pid"
        case .lwsCeiling: return "make bench-ceiling builds it, or pass --ceiling"
        case .nchan: return "scripts/install-deps.sh --bench installs nginx and libnginx-mod-nchan, or pass --nginx"
        }
    }

    /// The command line of a server on `port`, writing whatever config it needs into `directory`.
    func arguments(port: Int, directory: URL, launch: ServerUnderTest.Launch) throws -> [String] {
        switch self {
        case .gateway, .gatewayUpstream:
            var llm: [String: Any] = [
                "default_model": "demo",
                "models": ["demo": ["provider": "demo", "tokens_per_second": launch.tokensPerSecond, "tokens": launch.tokensPerTurn]],
            ]
            if self == .gatewayUpstream {
                guard let base = launch.upstreamBaseURL else { throw BenchError("gateway-upstream: no upstream started") }
                // No history: every request is the system prompt and the new message, as the
                // direct calls of the ttft scenario send it.
                llm = ["default_model": "bench", "history_messages": 0,
                       "models": ["bench": ["provider": "openai", "base_url": base, "model": "bench-upstream"]]]
            }
            var config: [String: Any] = [
                "server": ["host": "127.0.0.1", "port": port, "static_root": NSNull()],
                "sessions": ["max_events": launch.maxEvents],
                "workers": ["concurrency": launch.workers ?? launch.concurrentTurns, "queue_size": launch.concurrentTurns],
                "llm": llm,
                // The load comes from a few addresses and far faster than people type: no rate limits.
                "limits": ["messages_per_minute": NSNull(), "llm_tokens_per_minute_per_user": NSNull(),
                           "llm_tokens_per_minute_per_tenant": NSNull(), "connections_per_minute_per_ip": NSNull()],
            ]
            if let redis = launch.redisURL { config["redis"] = ["url": redis] }
            if let node = launch.nodeID { config["node"] = ["id": node] }
            let file = directory.appendingPathComponent("gateway.json")
            try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: file)
            return ["--config", file.path]
        case .lwsCeiling:
            return ["--port", "\(port)", "--tokens-per-second", "\(launch.tokensPerSecond)", "--tokens", "\(launch.tokensPerTurn)"]
        case .nchan:
            let file = directory.appendingPathComponent("nginx.conf")
            try Data(Self.nginxConfig(port: port, directory: directory.path).utf8).write(to: file)
            return ["-p", directory.path, "-c", file.path, "-e", directory.appendingPathComponent("error.log").path]
        }
    }

    /// One nginx process (no master, one worker's work in the pid we measure), nchan's WebSocket
    /// subscriber and HTTP publisher locations, every temp path inside `directory`, loopback only.
    private static func nginxConfig(port: Int, directory: String) -> String {
        """
        load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
        daemon off;
        master_process off;
        worker_processes 1;
        worker_rlimit_nofile 20000;
        pid \(directory)/nginx.pid;
        error_log \(directory)/error.log warn;
        events { worker_connections 65536; use epoll; multi_accept on; }  # connection slots, not files: nchan takes extra ones
        http {
            access_log off;
            client_body_temp_path \(directory)/body;
            proxy_temp_path \(directory)/proxy;
            fastcgi_temp_path \(directory)/fastcgi;
            uwsgi_temp_path \(directory)/uwsgi;
            scgi_temp_path \(directory)/scgi;
            server {
                listen 127.0.0.1:\(port) backlog=4096;
                keepalive_requests 1000000;  # the publisher's keep-alive connections are never recycled mid-run
                location ~ ^/sub/(.+)$ { nchan_subscriber websocket; nchan_channel_id $1; }
                location ~ ^/pub/(.+)$ { nchan_publisher; nchan_channel_id $1; }
            }
        }

        """
    }
}
