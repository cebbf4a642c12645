import Foundation

/// A Lua script run with EVALSHA, so each call sends the 40-byte SHA1 rather than the source.
///
/// The SHA1 is learned from Redis: it is the reply to `SCRIPT LOAD`, which
/// `RedisClient.evaluate` sends on first use and again whenever Redis answers NOSCRIPT (after a
/// restart, a failover or `SCRIPT FLUSH`), so no SHA1 code is needed here. Share one instance
/// per script across threads and clients.
///
/// @unchecked Sendable: `lock` guards `loadedSHA1`; `source` is immutable.
public final class RedisScript: @unchecked Sendable, CustomStringConvertible {
    public let source: String
    private let lock = NSLock()
    private var loadedSHA1: String?

    public init(_ source: String) {
        self.source = source
    }

    /// The script's SHA1 (40 lowercase hex digits), nil until Redis has loaded it once.
    public var sha1: String? {
        lock.lock()
        defer { lock.unlock() }
        return loadedSHA1
    }

    func remember(sha1: String) {
        lock.lock()
        defer { lock.unlock() }
        loadedSHA1 = sha1
    }

    public var description: String { "RedisScript(\(sha1 ?? "not loaded"), \(source.utf8.count) bytes)" }
}
