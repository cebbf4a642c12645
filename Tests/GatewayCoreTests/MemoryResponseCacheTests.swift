import Dispatch
import Synchronization
import XCTest
@testable import GatewayCore

final class MemoryResponseCacheTests: XCTestCase {
    private final class FakeClock: Sendable {
        let millis = Atomic<Int>(1_000_000)
        func advance(_ delta: Int) { millis.add(delta, ordering: .relaxed) }
        var reading: @Sendable () -> Int { { self.millis.load(ordering: .relaxed) } }
    }

    private let clock = FakeClock()

    private func cache(maxEntries: Int = 100, maxBytes: Int = 1 << 20, ttl: Int = 60_000) -> MemoryResponseCache {
        MemoryResponseCache(maxEntries: maxEntries, maxBytes: maxBytes, defaultTTLMillis: ttl, now: clock.reading)
    }

    private func key(_ question: String, model: String = "small") -> ResponseCacheKey {
        ResponseCacheKey(model: model, messages: [ChatMessage(role: .system, content: "Be helpful."),
                                                  ChatMessage(role: .user, content: question)],
                         maxOutputTokens: 512, temperature: nil)
    }

    private func reply(_ text: String, finish: TurnFinish = .stop) -> CachedReply {
        CachedReply(text: text, finish: finish, upstreamFinish: finish == .stop ? "stop" : nil,
                    usage: TokenUsage(inputTokens: 40, outputTokens: 12, estimated: false))
    }

    func testAStoredReplyIsFoundWithItsOriginalUsage() {
        let cache = cache()
        XCTAssertNil(cache.lookup(key("reset password?")))
        XCTAssertTrue(cache.store(reply("Use the Forgot password link."), for: key("reset password?")))
        XCTAssertEqual(cache.lookup(key("reset  password? ")), reply("Use the Forgot password link."))
        XCTAssertNil(cache.lookup(key("reset password?", model: "large")))

        let statistics = cache.statistics
        XCTAssertEqual(statistics.hits, 1)
        XCTAssertEqual(statistics.misses, 2)
        XCTAssertEqual(statistics.entries, 1)
        XCTAssertEqual(statistics.bytes, MemoryResponseCache.size(of: reply("Use the Forgot password link."), key: key("reset password?")))
    }

    func testOnlyCompleteRepliesAreKept() {
        let cache = cache()
        for finish in [TurnFinish.length, .cancelled, .error] {
            XCTAssertFalse(cache.store(reply("partial", finish: finish), for: key("q")), "\(finish)")
        }
        XCTAssertFalse(cache.store(reply(""), for: key("q")), "an empty reply is not an answer")
        XCTAssertNil(cache.lookup(key("q")))
        XCTAssertEqual(cache.statistics.entries, 0)
    }

    func testEntriesExpireAfterTheirTTL() {
        let cache = cache(ttl: 1000)
        cache.store(reply("a"), for: key("q"))
        clock.advance(999)
        XCTAssertNotNil(cache.lookup(key("q")))
        clock.advance(1)
        XCTAssertNil(cache.lookup(key("q")))
        XCTAssertEqual(cache.statistics.expirations, 1)
        XCTAssertEqual(cache.statistics.entries, 0, "an expired entry is removed when found")
    }

    func testEachEntryCanHaveItsOwnTTL() {
        let cache = cache(ttl: 1000)
        cache.store(reply("short-lived"), for: key("a"), ttlMillis: 10)
        cache.store(reply("long-lived"), for: key("b"), ttlMillis: 5000)
        cache.store(reply("default"), for: key("c"))
        clock.advance(1500)
        XCTAssertNil(cache.lookup(key("a")))
        XCTAssertNotNil(cache.lookup(key("b")))
        XCTAssertNil(cache.lookup(key("c")))
        XCTAssertFalse(cache.store(reply("x"), for: key("d"), ttlMillis: 0))
        XCTAssertFalse(cache.store(reply("x"), for: key("d"), ttlMillis: -5))
    }

    func testStoringAgainReplacesTheReplyAndRenewsTheTTL() {
        let cache = cache(ttl: 1000)
        cache.store(reply("old"), for: key("q"))
        clock.advance(800)
        cache.store(reply("new, longer text"), for: key("q"))
        clock.advance(800)
        XCTAssertEqual(cache.lookup(key("q"))?.text, "new, longer text")
        XCTAssertEqual(cache.statistics.entries, 1)
        XCTAssertEqual(cache.statistics.bytes, MemoryResponseCache.size(of: reply("new, longer text"), key: key("q")))
    }

    func testTheLeastRecentlyUsedGoesFirstWhenFull() {
        let cache = cache(maxEntries: 2)
        cache.store(reply("a"), for: key("a"))
        cache.store(reply("b"), for: key("b"))
        XCTAssertNotNil(cache.lookup(key("a")))
        cache.store(reply("c"), for: key("c"))
        XCTAssertNil(cache.lookup(key("b")), "b was used least recently")
        XCTAssertNotNil(cache.lookup(key("a")))
        XCTAssertNotNil(cache.lookup(key("c")))
        XCTAssertEqual(cache.statistics.evictions, 1)
        XCTAssertEqual(cache.keysNewestFirst, [key("c"), key("a")])
    }

    func testTotalBytesAreBounded() {
        let entrySize = MemoryResponseCache.size(of: reply(String(repeating: "x", count: 1000)), key: key("q0"))
        let cache = cache(maxBytes: entrySize * 3)
        for index in 0..<5 { cache.store(reply(String(repeating: "x", count: 1000)), for: key("q\(index)")) }
        XCTAssertEqual(cache.statistics.entries, 3)
        XCTAssertLessThanOrEqual(cache.statistics.bytes, entrySize * 3)
        XCTAssertEqual(cache.keysNewestFirst, [key("q4"), key("q3"), key("q2")])

        // One bigger entry pushes out as many old ones as it needs.
        cache.store(reply(String(repeating: "y", count: 2000)), for: key("big"))
        XCTAssertEqual(cache.keysNewestFirst, [key("big"), key("q4")])
        XCTAssertLessThanOrEqual(cache.statistics.bytes, entrySize * 3)
    }

    func testAReplyLargerThanTheWholeCacheIsRefusedWithoutEvictingAnything() {
        let cache = cache(maxBytes: 2000)
        cache.store(reply("small"), for: key("a"))
        XCTAssertFalse(cache.store(reply(String(repeating: "z", count: 5000)), for: key("huge")))
        XCTAssertNotNil(cache.lookup(key("a")))
        XCTAssertEqual(cache.statistics.evictions, 0)
    }

    func testRemove() {
        let cache = cache()
        cache.store(reply("a"), for: key("a"))
        cache.remove(key("a"))
        XCTAssertNil(cache.lookup(key("a")))
        XCTAssertEqual(cache.statistics.bytes, 0)
    }

    func testConcurrentUseKeepsTheLimitsAndCounts() {
        let cache = cache(maxEntries: 50, maxBytes: 50 * 400)
        let lookups = Atomic<Int>(0)
        let usage = TokenUsage(inputTokens: 1, outputTokens: 1, estimated: false)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for step in 0..<2000 {
                let question = "q\((worker * 7 + step) % 120)"
                let key = ResponseCacheKey(model: "small", messages: [ChatMessage(role: .system, content: "Be helpful."),
                                                                      ChatMessage(role: .user, content: question)],
                                           maxOutputTokens: 512, temperature: nil)
                if cache.lookup(key) == nil {
                    cache.store(CachedReply(text: "answer to \(question)", finish: .stop, usage: usage), for: key)
                }
                lookups.add(1, ordering: .relaxed)
            }
        }
        let statistics = cache.statistics
        XCTAssertEqual(statistics.hits + statistics.misses, lookups.load(ordering: .relaxed))
        XCTAssertLessThanOrEqual(statistics.entries, 50)
        XCTAssertLessThanOrEqual(statistics.bytes, 50 * 400)
        XCTAssertEqual(statistics.entries, cache.keysNewestFirst.count)
        for key in cache.keysNewestFirst {
            XCTAssertEqual(cache.lookup(key)?.text, "answer to \(key.canonical.split(separator: ":").last!.dropLast())")
        }
    }
}
