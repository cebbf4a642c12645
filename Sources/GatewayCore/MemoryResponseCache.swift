import Synchronization

/// The in-process `ResponseCache`: least recently used entries go first once either limit is
/// reached, and each entry expires `ttl` after it was stored (checked on lookup, against the
/// injected clock, so tests need no sleeping). Thread-safe: every operation holds one lock for a
/// few dictionary and list updates; nothing slow happens under it.
///
/// Sizes are accounted as the UTF-8 bytes of the key's canonical form, the reply text and its
/// finish reason, plus `entryOverheadBytes` for the bookkeeping: an estimate of the memory held,
/// good enough to bound it.
public final class MemoryResponseCache: ResponseCache {
    public static let entryOverheadBytes = 128

    private struct Entry: Sendable {
        var reply: CachedReply
        var expiresAtMillis: Int
    }

    private struct State: Sendable {
        var entries = LRUStore<ResponseCacheKey, Entry>()
        var statistics = ResponseCacheStatistics()
    }

    public let maxEntries: Int
    public let maxBytes: Int
    public let defaultTTLMillis: Int
    private let now: @Sendable () -> Int
    private let state = Mutex(State())

    /// `now` gives milliseconds (`WallClock.millis` in the gateway). Limits must be positive.
    public init(maxEntries: Int, maxBytes: Int, defaultTTLMillis: Int, now: @escaping @Sendable () -> Int) {
        precondition(maxEntries > 0 && maxBytes > 0 && defaultTTLMillis > 0, "cache limits must be positive")
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
        self.defaultTTLMillis = defaultTTLMillis
        self.now = now
    }

    public func lookup(_ key: ResponseCacheKey) -> CachedReply? {
        let time = now()
        return state.withLock { state in
            guard let entry = state.entries.use(key) else {
                state.statistics.misses += 1
                return nil
            }
            guard time < entry.expiresAtMillis else {
                state.entries.remove(key)
                state.statistics.expirations += 1
                state.statistics.misses += 1
                return nil
            }
            state.statistics.hits += 1
            return entry.reply
        }
    }

    @discardableResult
    public func store(_ reply: CachedReply, for key: ResponseCacheKey, ttlMillis: Int?) -> Bool {
        let ttl = ttlMillis ?? defaultTTLMillis
        let size = Self.size(of: reply, key: key)
        guard reply.isCacheable, ttl > 0, size <= maxBytes else { return false }
        let expiresAt = now() + ttl
        state.withLock { state in
            state.entries.remove(key)
            while state.entries.count >= maxEntries || state.entries.totalCost + size > maxBytes,
                  let oldest = state.entries.oldestEntry {
                state.entries.remove(oldest.key)
                state.statistics.evictions += 1
            }
            state.entries.set(Entry(reply: reply, expiresAtMillis: expiresAt), cost: size, for: key)
        }
        return true
    }

    public func remove(_ key: ResponseCacheKey) {
        state.withLock { _ = $0.entries.remove(key) }
    }

    public var statistics: ResponseCacheStatistics {
        state.withLock { state in
            var statistics = state.statistics
            statistics.entries = state.entries.count
            statistics.bytes = state.entries.totalCost
            return statistics
        }
    }

    /// Keys from most to least recently used, for tests.
    var keysNewestFirst: [ResponseCacheKey] { state.withLock { $0.entries.keysNewestFirst } }

    static func size(of reply: CachedReply, key: ResponseCacheKey) -> Int {
        key.canonical.utf8.count + reply.text.utf8.count + (reply.upstreamFinish?.utf8.count ?? 0) + entryOverheadBytes
    }
}

/// Counters since the cache was made, and its current size.
public struct ResponseCacheStatistics: Sendable, Equatable {
    public var entries = 0
    public var bytes = 0
    public var hits = 0
    /// Lookups that found nothing, including those that found an expired entry.
    public var misses = 0
    /// Entries removed to make room.
    public var evictions = 0
    /// Entries found expired on lookup (and removed).
    public var expirations = 0
    public init() {}
}
