/// One idle run: N connections opened, joined and held; the gateway's memory before and after.
struct IdleMeasurement {
    var server: ServerKind
    var connections: Int
    var subscribersPerSession: Int
    var processes: Int
    var sourceAddresses: [String]
    var tally: ChatLoadTally
    var holdSeconds: Double
    var gatewayBefore: ProcessSample
    /// After every connection joined and a short settle.
    var gatewayJoined: ProcessSample
    /// At the end of the hold, before anything closed.
    var gatewayHeld: ProcessSample

    /// First attempt to last join, over all client processes.
    var connectSeconds: Double? {
        guard let first = tally.firstConnectMilliseconds, let last = tally.lastJoinedMilliseconds else { return nil }
        return Double(last - first) / 1000
    }

    var connectsPerSecond: Double? {
        guard let seconds = connectSeconds, seconds > 0 else { return nil }
        return Double(tally.joined) / seconds
    }

    /// Growth of the gateway's RSS from before the first connection to the end of the hold, per joined connection.
    var residentBytesPerConnection: Double? {
        guard tally.joined > 0 else { return nil }
        return Double(gatewayHeld.residentKilobytes - gatewayBefore.residentKilobytes) * 1024 / Double(tally.joined)
    }

    /// Gateway CPU spent accepting, upgrading and joining (before → joined).
    var gatewayConnectCPUSeconds: Double { gatewayJoined.cpuSeconds - gatewayBefore.cpuSeconds }

    var json: [String: Any] {
        var entry: [String: Any] = [
            "server": server.rawValue,
            "connections": connections,
            "subscribers_per_session": subscribersPerSession,
            "sessions": (connections + subscribersPerSession - 1) / subscribersPerSession,
            "client_processes": processes,
            "source_addresses": sourceAddresses,
            "opened": tally.opened,
            "joined": tally.joined,
            "failed": tally.failed,
            "closed_early": tally.closedEarly,
            "errors": tally.errors,
            "hold_seconds": holdSeconds,
            "gateway_rss_before_kb": gatewayBefore.residentKilobytes,
            "gateway_rss_joined_kb": gatewayJoined.residentKilobytes,
            "gateway_rss_held_kb": gatewayHeld.residentKilobytes,
            "gateway_connect_cpu_seconds": gatewayConnectCPUSeconds,
        ]
        entry["first_failure"] = tally.firstFailure
        entry["connect_seconds"] = connectSeconds
        entry["connects_per_second"] = connectsPerSecond
        entry["rss_per_connection_bytes"] = residentBytesPerConnection
        return entry
    }

    var markdownRow: String {
        let perConnection = residentBytesPerConnection.map { String(format: "%.0f", $0) } ?? "-"
        let rate = connectsPerSecond.map { String(format: "%.0f", $0) } ?? "-"
        let seconds = connectSeconds.map { String(format: "%.2f", $0) } ?? "-"
        return "| \(server.rawValue) | \(connections) | \(processes) | \(tally.joined) | \(tally.failed) | \(tally.closedEarly) | "
            + "\(seconds) | \(rate) | \(gatewayBefore.residentKilobytes) | \(gatewayHeld.residentKilobytes) | "
            + "\(perConnection) | \(String(format: "%.2f", gatewayConnectCPUSeconds)) |"
    }

    static let markdownHeader = """
        | server | connections | client procs | joined | failed | closed early | connect s | connects/s | server RSS before KiB | RSS held KiB | RSS/conn bytes | server CPU s (connect) |
        |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
        """
}
