import Foundation
@testable import GatewayCluster
import GatewayCore
import GatewayRedis
import RedisTestSupport
import XCTest

/// The Lua building blocks other scripts (the turn queue's reaper and stop) call: they name the
/// keys `ClusterKeys` names and write the frames `SessionEvent.encode` writes, byte for byte.
final class SessionLogLuaTests: RedisStoreTestCase {
    private let bob = ConnectionID(2)
    /// JSON escaping's hard cases: quotes, backslash, slash (cjson would write `\/`), control bytes, DEL, non-ASCII.
    private let awkward = "node \"n1\" \\ went/away\n\t\r\u{1}\u{1F}\u{7F} — ✓"

    func testSessionKeysNamesWhatClusterKeysNames() throws {
        let client = try makeClient()
        let keys = ClusterKeys(prefix: "gw")
        let names = try evaluateWithLibrary("""
            return { K.session, K.seq, K.log, K.meta, K.ids, K.tx, K.reply, K.channel, K.queue, K.leases, K.turn('t:1') }
            """, session: "room:\"7\"", on: client, keys: keys)
        XCTAssertEqual(names.array?.compactMap(\.string), [
            "room:\"7\"", keys.sessionSeq("room:\"7\""), keys.sessionLog("room:\"7\""), keys.sessionMeta("room:\"7\""),
            keys.sessionMessageIDs("room:\"7\""), keys.sessionTranscript("room:\"7\""), keys.sessionReply("room:\"7\""),
            keys.sessionChannel("room:\"7\""), keys.turnQueue, keys.leases, keys.turn("t:1"),
        ])
    }

    func testTurnEndFrameWritesTheTemplateOfTheSameEnd() throws {
        let client = try makeClient()
        let cases: [(finish: TurnFinish, input: Int, output: Int, estimated: Bool, upstream: String?, error: TurnError?)] = [
            (.stop, 31, 60, false, "end_turn", nil),
            (.error, 0, 0, true, nil, TurnError(code: "worker_lost", message: awkward)),
            (.cancelled, 12, 3, true, nil, nil),
            (.length, 1_000_000, 4096, false, "max_tokens \"hit\"", TurnError(code: "x", message: "")),
        ]
        for (finish, input, output, estimated, upstream, error) in cases {
            let reply = try evaluateWithLibrary("""
                local est = ARGV[9] == 'true'
                local function opt(s) if s == '' then return nil end return s end
                return { turn_end_frame(K.session, ARGV[6], ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[10]), est,
                                        opt(ARGV[11]), opt(ARGV[12]), opt(ARGV[13])) }
                """, session: "s\"\\/é", arguments: [
                    "t\"1", RedisArgument(finish.rawValue), RedisArgument(input), RedisArgument(estimated ? "true" : "false"),
                    RedisArgument(output), RedisArgument(upstream ?? ""), RedisArgument(error?.code ?? ""),
                    RedisArgument(error?.message ?? ""),
                ], on: client)
            let usage = TokenUsage(inputTokens: input, outputTokens: output, estimated: estimated)
            let expected = SessionEventFrameTemplate(session: "s\"\\/é", body: .turnEnd(turn: "t\"1", finish: finish, usage: usage,
                                                                                         upstreamFinish: upstream, error: error))
            XCTAssertEqual(reply.array?.map { String(decoding: $0.bytes ?? [], as: UTF8.self) },
                           [String(decoding: expected.head, as: UTF8.self), String(decoding: expected.middle, as: UTF8.self)])
        }
    }

    func testATurnEndedWithoutItsWorkerIsWhatTheStoreWouldHaveAppended() throws {
        let node = StoreDriver(try makeReadyStore())
        let client = try makeClient()
        _ = try node.joined("s", bob)
        _ = try node.accepted(id: "m1", turn: "t1")
        node.delta(turn: "t1", text: "Hel")
        node.delta(turn: "t1", text: "lo")
        _ = try cli("ZADD", ClusterKeys().leases, "1", "t1")
        try waitForSeq(session: "s", atLeast: 4)
        // The lease reaper's call.
        let reaped = try evaluateWithLibrary("return end_turn_without_worker(K, C, ARGV[6], 'error', 'worker_lost', ARGV[7]) or 0",
                                             session: "s", arguments: ["t1", RedisArgument(awkward)], on: client)
        XCTAssertEqual(reaped, .integer(5))
        let frame = try XCTUnwrap(try node.frames(bob, through: 5).last)
        let ts = try XCTUnwrap(frame.int("ts"))
        let usage = TokenUsage(inputTokens: 0, outputTokens: 0, estimated: true)
        XCTAssertEqual(frame.description, String(decoding: SessionEvent.encode(
            session: "s", seq: 5, fromSeq: nil, timestamp: ts,
            body: .turnEnd(turn: "t1", finish: .error, usage: usage, upstreamFinish: nil,
                           error: TurnError(code: "worker_lost", message: awkward))), as: UTF8.self))
        XCTAssertNil(try node.active())
        XCTAssertEqual(try cli("ZSCORE", ClusterKeys().leases, "t1"), [])
        let entry = try XCTUnwrap(try cli("LINDEX", ClusterKeys().sessionTranscript("s"), "-1").first)
        XCTAssertEqual(SessionScriptReplies.transcriptEntry(Array(entry.utf8)),
                       Transcript.Entry(id: "t1", role: .assistant, author: "demo", text: "Hello", turn: "t1", model: "demo",
                                        streaming: false, finish: .error), "the transcript keeps what was relayed")
        let again = try evaluateWithLibrary("return end_turn_without_worker(K, C, ARGV[6], 'cancelled') or 0",
                                            session: "s", arguments: ["t1"], on: client)
        XCTAssertEqual(again, .integer(0), "a turn ends once")

        // A stop before any worker claimed the turn.
        _ = try node.accepted(id: "m2", turn: "t2")
        let stopped = try evaluateWithLibrary("return end_turn_without_worker(K, C, ARGV[6], 'cancelled') or 0",
                                              session: "s", arguments: ["t2"], on: client)
        XCTAssertEqual(stopped, .integer(8))
        let cancelled = try XCTUnwrap(try node.frames(bob, through: 8).last)
        XCTAssertEqual(cancelled.description, String(decoding: SessionEvent.encode(
            session: "s", seq: 8, fromSeq: nil, timestamp: try XCTUnwrap(cancelled.int("ts")),
            body: .turnEnd(turn: "t2", finish: .cancelled, usage: usage, upstreamFinish: nil, error: nil)), as: UTF8.self))
    }
}
