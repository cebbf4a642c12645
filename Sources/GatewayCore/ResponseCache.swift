/// Replies kept for identical requests (see `ResponseCacheKey`), so a question many users ask in the
/// same words in the same context is answered once. `MemoryResponseCache` is the in-process store;
/// a shared one (Redis) can key on `ResponseCacheKey.digestHex`.
///
/// Only complete replies belong here: the turn stores a reply only when it finished with `stop`.
/// Failed, cancelled and length-truncated replies would be served again as if they were answers;
/// stores refuse them (`CachedReply.isCacheable`) in case a caller forgets.
public protocol ResponseCache: Sendable {
    func lookup(_ key: ResponseCacheKey) -> CachedReply?
    /// Keeps `reply` for `ttlMillis` (nil: the store's default). Returns false when it was not
    /// kept: not cacheable, larger than the store, or a TTL that is not positive.
    @discardableResult
    func store(_ reply: CachedReply, for key: ResponseCacheKey, ttlMillis: Int?) -> Bool
}

extension ResponseCache {
    @discardableResult
    public func store(_ reply: CachedReply, for key: ResponseCacheKey) -> Bool {
        store(reply, for: key, ttlMillis: nil)
    }
}

/// A complete reply as the upstream gave it. A hit replays `text` and reports `usage` as the
/// original request's, so the turn can log what the hit saved; it costs nothing (`TurnCost`).
public struct CachedReply: Sendable, Equatable {
    public var text: String
    public var finish: TurnFinish
    /// The upstream's own finish reason (`stop`, `end_turn`), when it gave one.
    public var upstreamFinish: String?
    public var usage: TokenUsage

    public init(text: String, finish: TurnFinish, upstreamFinish: String? = nil, usage: TokenUsage) {
        self.text = text
        self.finish = finish
        self.upstreamFinish = upstreamFinish
        self.usage = usage
    }

    /// Finished normally with some text.
    public var isCacheable: Bool { finish == .stop && !text.isEmpty }
}
