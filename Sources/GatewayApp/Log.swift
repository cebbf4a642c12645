@preconcurrency import Glibc

/// One line per event on stderr, with a level; API keys and message text never go through here.
enum Log {
    static func info(_ message: String) { write("info", message) }
    static func warning(_ message: String) { write("warn", message) }
    static func error(_ message: String) { write("error", message) }

    /// Start-up failures, printed as the command's own message rather than a log line.
    static func plain(_ line: String) { fputs(line + "\n", stderr) }

    /// The ready line on stdout, flushed at once: scripts and tests wait for it.
    static func announce(_ line: String) {
        fputs(line + "\n", stdout)
        fflush(stdout)
    }

    private static func write(_ level: String, _ message: String) {
        fputs("chat-gateway [\(level)] \(message)\n", stderr)
    }
}
