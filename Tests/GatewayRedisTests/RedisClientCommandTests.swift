import RedisTestSupport
import Foundation
import GatewayRedis
import Synchronization
import XCTest

/// `RedisClient` against a real redis-server: every reply type, pipelining from several
/// threads, scripts, databases, unix sockets and the commands it refuses.
final class RedisClientCommandTests: RedisServerTestCase {
    func testEveryReplyType() async throws {
        let client = try makeClient()
        let pong = try await client.send(["PING"])
        XCTAssertEqual(pong, .status("PONG"))
        let ok = try await client.send(["SET", "greeting", "hello"])
        XCTAssertEqual(ok, .status("OK"))
        let greeting = try await client.send(["GET", "greeting"])
        XCTAssertEqual(greeting, .bulk("hello"))
        XCTAssertEqual(greeting.string, "hello")
        let missing = try await client.send(["GET", "missing"])
        XCTAssertEqual(missing, .null, "null bulk string")
        let timedOutPop = try await client.send(["BLPOP", "missing-list", "0.01"])
        XCTAssertEqual(timedOutPop, .null, "null array")
        let counter = try await client.send(["INCRBY", "counter", 41])
        XCTAssertEqual(counter, .integer(41))
        _ = try await client.send(["SET", "empty", ""])
        let empty = try await client.send(["GET", "empty"])
        XCTAssertEqual(empty, .bulk([]), "an empty string is not null")

        _ = try await client.send(["RPUSH", "letters", "a", "b", "c"])
        let letters = try await client.send(["LRANGE", "letters", 0, -1])
        XCTAssertEqual(letters, .array([.bulk("a"), .bulk("b"), .bulk("c")]))
        let none = try await client.send(["LRANGE", "no-letters", 0, -1])
        XCTAssertEqual(none, .array([]))

        // Lua tables come back as arrays; an error reply inside one stays a value.
        let nested = try await client.send(["EVAL", "return {1, 'two', {3}, redis.error_reply('BOOM nested'), false}", 0])
        XCTAssertEqual(nested, .array([.integer(1), .bulk("two"), .array([.integer(3)]), .error("BOOM nested"), .null]))

        // A top-level error reply is a failure with the server's text.
        let notANumber = await failure(of: ["INCR", "greeting"], on: client)
        XCTAssertEqual(notANumber, .server("ERR value is not an integer or out of range"))
        let wrongType = await failure(of: ["LPUSH", "greeting", "x"], on: client)
        XCTAssertEqual(wrongType?.serverErrorCode, "WRONGTYPE")
        let unknown = await failure(of: ["NO-SUCH-COMMAND"], on: client)
        XCTAssertEqual(unknown?.serverErrorCode, "ERR")
        let afterErrors = try await client.send(["GET", "greeting"])
        XCTAssertEqual(afterErrors, .bulk("hello"), "errors do not disturb the replies that follow")
    }

    func testBinaryAndLargeValuesRoundTrip() async throws {
        let client = try makeClient()
        let binary: [UInt8] = [0, 13, 10, 255, 32, 0, 36, 42]
        _ = try await client.send(["SET", .bytes(binary), .bytes(binary)])
        let binaryBack = try await client.send(["GET", .bytes(binary)])
        XCTAssertEqual(binaryBack.bytes, binary, "keys and values are binary-safe")

        // Many times hiredis' 16 KiB read size, and more than one socket buffer to write.
        let large = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        _ = try await client.send(["SET", "large", .bytes(large)])
        let largeBack = try await client.send(["GET", "large"])
        XCTAssertEqual(largeBack.bytes, large)
    }

    func testPipelinedCommandsFromSeveralThreadsKeepEachThreadsOrder() throws {
        let client = try makeClient()
        let threads = 4
        let perThread = 2_500
        // Per thread: the index each completion was for, and the list length it returned.
        let seen = Mutex([[(index: Int, length: Int64)]](repeating: [], count: threads))
        let completionThreads = Mutex<Set<String>>([])
        let started = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for index in 0..<perThread {
                client.send(["RPUSH", RedisArgument("list:\(thread)"), RedisArgument(index)]) { result in
                    let length = (try? result.get())?.integer ?? -1
                    seen.withLock { $0[thread].append((index, length)) }
                    let name = Self.currentThreadName()
                    completionThreads.withLock { _ = $0.insert(name) }
                }
            }
        }
        let total = threads * perThread
        let deadline = Date().addingTimeInterval(10)
        while seen.withLock({ $0.map(\.count).reduce(0, +) }) < total, Date() < deadline { usleep(2_000) }
        let elapsed = ContinuousClock.now - started
        usleep(100_000)  // a duplicate completion would show up in the counts below

        let results = seen.withLock { $0 }
        for thread in 0..<threads {
            XCTAssertEqual(results[thread].count, perThread, "thread \(thread): every completion exactly once")
            XCTAssertEqual(results[thread].map(\.index), Array(0..<perThread), "thread \(thread): completions in send order")
            XCTAssertEqual(results[thread].map(\.length), (1...perThread).map(Int64.init), "thread \(thread): ran in send order")
        }
        XCTAssertEqual(completionThreads.withLock { $0 }, ["redis-test-cmd"], "completions run on the command thread")
        print("\(total) pipelined RPUSH from \(threads) threads: \(elapsed)")
    }

    func testEvaluateLoadsTheScriptAndReloadsItAfterScriptFlush() async throws {
        let client = try makeClient()
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        XCTAssertNil(script.sha1, "unknown until Redis has loaded it")

        let first = try await client.evaluate(script, keys: ["hits"], arguments: [5])
        XCTAssertEqual(first, .integer(5))
        // `printf %s "<source>" | sha1sum`: Redis' SCRIPT LOAD reply is the source's SHA1.
        XCTAssertEqual(script.sha1, "8cd00688c05c46bde4a2e60658ef20a2e5c0b248")

        _ = try await client.send(["SCRIPT", "FLUSH"])
        let existsAfterFlush = try await client.send(["SCRIPT", "EXISTS", "8cd00688c05c46bde4a2e60658ef20a2e5c0b248"])
        XCTAssertEqual(existsAfterFlush, .array([.integer(0)]))

        let second = try await client.evaluate(script, keys: ["hits"], arguments: [5])
        XCTAssertEqual(second, .integer(10), "NOSCRIPT: loaded again and run once")
        let existsAgain = try await client.send(["SCRIPT", "EXISTS", "8cd00688c05c46bde4a2e60658ef20a2e5c0b248"])
        XCTAssertEqual(existsAgain, .array([.integer(1)]))

        let stats = try await client.send(["INFO", "commandstats"]).string ?? ""
        XCTAssertTrue(stats.contains("cmdstat_script|load:calls=2,"), "one load on first use, one after NOSCRIPT:\n\(stats)")
        let evalsha = stats.split(whereSeparator: \.isNewline).first { $0.hasPrefix("cmdstat_evalsha:") } ?? ""
        XCTAssertTrue(evalsha.hasPrefix("cmdstat_evalsha:calls=3,") && evalsha.hasSuffix("failed_calls=1"),
                      "EVALSHA after the first load, then once refused with NOSCRIPT and once after the reload: \(evalsha)")

        var scriptError: RedisError?
        do { _ = try await client.evaluate(RedisScript("return redis.call('NO-SUCH-COMMAND')")) } catch { scriptError = error }
        XCTAssertEqual(scriptError?.serverErrorCode, "ERR", "a failing script reports the server's error")
    }

    func testSelectsTheURLsDatabaseOnConnect() async throws {
        let database3 = try makeClient(url: server.url + "/3")
        let database0 = try makeClient()
        _ = try await database3.send(["SET", "where", "three"])
        let fromDatabase0 = try await database0.send(["GET", "where"])
        XCTAssertEqual(fromDatabase0, .null)
        let fromDatabase3 = try await database3.send(["GET", "where"])
        XCTAssertEqual(fromDatabase3, .bulk("three"))

        let outOfRange = try makeClient(url: server.url + "/99")
        let error = await failure(of: ["PING"], on: outOfRange)
        XCTAssertTrue([.server("ERR DB index is out of range"), .notConnected].contains(error), "\(String(describing: error))")
    }

    func testConnectsOverAUnixSocket() async throws {
        let client = try makeClient(url: "unix://\(server.socketPath)")
        let pong = try await client.send(["PING"])
        XCTAssertEqual(pong, .status("PONG"))
    }

    func testRefusesCommandsThatWouldBreakTheSharedConnection() async throws {
        let client = try makeClient()
        for arguments: [RedisArgument] in [["SUBSCRIBE", "news"], ["multi"], ["Select", 2], ["MONITOR"], []] {
            let completedInline = Mutex(false)
            let error = Mutex<RedisError?>(nil)
            client.send(arguments) { result in
                completedInline.withLock { $0 = true }
                if case let .failure(failure) = result { error.withLock { $0 = failure } }
            }
            XCTAssertTrue(completedInline.withLock { $0 }, "\(arguments): refused before send returns")
            guard case .invalidCommand = error.withLock({ $0 }) else {
                XCTFail("\(arguments): \(String(describing: error.withLock { $0 }))")
                continue
            }
        }
        let pong = try await client.send(["PING"])
        XCTAssertEqual(pong, .status("PONG"), "the connection is still in command mode")
    }

    /// The kernel's name for the calling thread (Glibc does not export `pthread_getname_np`).
    private static func currentThreadName() -> String {
        let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "?"
        return name.trimmingCharacters(in: .newlines)
    }
}
