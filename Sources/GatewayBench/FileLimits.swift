@preconcurrency import Glibc

/// The open-files limit: each connection is a file descriptor, and these machines allow 20,000
/// per process (hard limit). Raising the soft limit to what is needed, children inherit it.
enum FileLimits {
    /// RLIM_INFINITY is a macro Swift imports wrongly (as -1 into an unsigned type).
    private static let unlimited = rlim_t.max

    /// The most descriptors this process may have, once the soft limit is raised to the hard one.
    static var hardLimit: Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return limit.rlim_max == unlimited ? Int.max : Int(limit.rlim_max)
    }

    static func raiseOpenFiles(toAtLeast needed: Int) throws(BenchError) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let hard = limit.rlim_max == unlimited ? Int.max : Int(limit.rlim_max)
        guard needed <= hard else {
            throw BenchError("\(needed) open files needed but the hard limit (ulimit -Hn) is \(hard): "
                             + "use more client processes (--processes) or fewer connections")
        }
        if limit.rlim_cur != unlimited && Int(limit.rlim_cur) < needed {
            limit.rlim_cur = limit.rlim_max
            guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
                throw BenchError("cannot raise the open-files limit to \(hard): errno \(errno)")
            }
        }
    }
}
