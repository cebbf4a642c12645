import Foundation
@preconcurrency import Glibc

/// One reading of a process's resident memory and CPU time from /proc.
struct ProcessSample: Equatable {
    /// VmRSS, in KiB.
    var residentKilobytes: Int
    /// utime + stime, in seconds.
    var cpuSeconds: Double
    /// CLOCK_MONOTONIC seconds at the reading, for rates.
    var takenAt: Double

    static func read(pid: Int32) throws(BenchError) -> ProcessSample {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else {
            throw BenchError("cannot read /proc/\(pid): is the process running?")
        }
        let rssLine = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        guard let rss = rssLine?.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first
            .flatMap({ Int($0) }) else {
            throw BenchError("/proc/\(pid)/status has no VmRSS line")
        }
        // The command name (field 2) may hold spaces; fields are counted from the last ')'.
        guard let close = stat.lastIndex(of: ")") else { throw BenchError("/proc/\(pid)/stat is malformed") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After ")": state is field 3, so utime (14) and stime (15) are at offsets 11 and 12.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw BenchError("/proc/\(pid)/stat has no CPU times")
        }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return ProcessSample(residentKilobytes: rss, cpuSeconds: (user + system) / ticks,
                             takenAt: Double(now.tv_sec) + Double(now.tv_nsec) / 1e9)
    }

    /// CPU used between two samples as a share of one core (1.0 = one core busy).
    static func coreShare(from start: ProcessSample, to end: ProcessSample) -> Double {
        let wall = end.takenAt - start.takenAt
        return wall > 0 ? (end.cpuSeconds - start.cpuSeconds) / wall : 0
    }
}
