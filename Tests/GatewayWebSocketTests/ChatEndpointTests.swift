import GatewayWebSocket
import XCTest

/// The chat endpoint over real sockets: upgrade rules, message assembly and limits, outbound
/// frames through `nextOutbound` + `wake`, and closes.
final class ChatEndpointTests: XCTestCase {
    func testUpgradeWithAndWithoutSubprotocolAndRefusals() throws {
        let (server, handler) = try startServer(self)
        let result = try PythonClient.run("""
        async def main():
            async with ws(subprotocols=["chat.v1"]) as a:
                await a.send("hello")
                first = [a.subprotocol, await a.recv()]
            async with ws() as b:
                await b.send("plain")
                second = [b.subprotocol, await b.recv()]
            both = await refused_status(subprotocols=["other.v9", "chat.v1"]) == 101
            return [first, second, both, await refused_status(subprotocols=["other.v9"]),
                    await refused_status("/v1/nope"), await refused_status("/v1/echo")]
        """, port: server.boundPort) as? [Any]
        XCTAssertEqual(result?[0] as? [String], ["chat.v1", "echo:hello"])
        XCTAssertEqual((result?[1] as? [Any])?.last as? String, "echo:plain")
        XCTAssertTrue((result?[1] as? [Any])?.first is NSNull, "no subprotocol offered, none chosen")
        XCTAssertEqual(result?[2] as? Bool, true, "chat.v1 picked from a list")
        XCTAssertEqual(result?[3] as? Int, 400, "a list without chat.v1 is refused")
        XCTAssertEqual(result?[4] as? Int, 404, "unknown WebSocket path")
        XCTAssertEqual(result?[5] as? Int, 404, "echo endpoint is off by default")
        handler.waitUntil { $0.closed.count == 3 }
        XCTAssertEqual(handler.snapshot.opened.count, 3)
        XCTAssertEqual(Set(handler.snapshot.opened), Set(handler.snapshot.closed))
        XCTAssertEqual(handler.snapshot.remoteAddresses.first, "127.0.0.1")
    }

    func testManyQueuedFramesArriveInOrder() throws {
        let (server, _) = try startServer(self)
        let result = try PythonClient.run("""
        async def main():
            async with ws() as c:
                await c.send("burst:2000")
                burst = [await c.recv() for _ in range(2000)]
                await c.send("trickle:300")
                trickle = [await c.recv() for _ in range(300)]
                return [burst == [f"frame-{i}" for i in range(2000)],
                        trickle == [f"frame-{i}" for i in range(300)]]
        """, port: server.boundPort) as? [Bool]
        XCTAssertEqual(result, [true, true], "queued frames (one wake) and trickled frames (a wake each)")
    }

    /// After `.lastFrame` the server does not ask again until the next wake: "second" stays queued
    /// until the client's next message wakes the connection. The service thread finishes a
    /// WRITEABLE before it reads anything, so had it asked again, "second" would have been handed
    /// out before "wake" was received.
    func testLastFrameIsNotFollowedByAnotherAskUntilTheNextWake() throws {
        let (server, handler) = try startServer(self)
        let result = try PythonClient.run("""
        async def main():
            async with ws() as c:
                await c.send("last-frame")
                first = await c.recv()
                await c.send("wake")
                return [first, await c.recv(), await c.recv()]
        """, port: server.boundPort) as? [String]
        XCTAssertEqual(result, ["first", "second", "echo:wake"])
        XCTAssertEqual(handler.snapshot.order, ["in:last-frame", "out:first", "in:wake", "out:second", "out:echo:wake"])
    }

    func testFragmentedMessagesAreAssembled() throws {
        let (server, handler) = try startServer(self)
        let result = try PythonClient.run("""
        async def main():
            async with ws() as c:
                await c.send(["frag", "mented ", "message"])
                fragmented = await c.recv()
                await c.send("x" * 20000)   # one frame, many receive chunks
                big = await c.recv()
            r = Raw()
            r.send(0x1, "h\\u00e9".encode()[:2], fin=False)   # splits the two bytes of the e-acute
            r.send(0x0, "h\\u00e9".encode()[2:] + b"!", fin=False)
            r.send(0x9, b"ping-in-between")                    # control frames may interleave
            r.send(0x0, b"", fin=True)
            pong = r.frame()
            reply = r.frame()
            return [fragmented, len(big), pong[0], reply[1].decode()]
        """, port: server.boundPort) as? [Any]
        XCTAssertEqual(result?[0] as? String, "echo:fragmented message")
        XCTAssertEqual(result?[1] as? Int, 20005)
        XCTAssertEqual(result?[2] as? Int, 0xA, "ping answered with pong")
        XCTAssertEqual(result?[3] as? String, "echo:hé!")
        XCTAssertEqual(handler.snapshot.received.filter { $0.hasPrefix("frag") }, ["fragmented message"])
    }

    func testMessageOverLimitCloses1009() throws {
        let (server, handler) = try startServer(self) { $0.maxMessageBytes = 1000 }
        let result = try PythonClient.run("""
        async def main():
            async with ws() as c:
                await c.send("a" * 1000)
                ok = await c.recv()
                await c.send("a" * 1001)
                single = await close_of(c)
            async with ws() as c:
                await c.send(["a" * 600, "b" * 600])
                fragmented = await close_of(c)
            return [ok == "echo:" + "a" * 1000, single, fragmented]
        """, port: server.boundPort) as? [Any]
        XCTAssertEqual(result?[0] as? Bool, true, "exactly the limit is fine")
        XCTAssertEqual((result?[1] as? [Any])?.first as? Int, 1009)
        XCTAssertEqual((result?[1] as? [Any])?.last as? String, "message too big")
        XCTAssertEqual((result?[2] as? [Any])?.first as? Int, 1009)
        handler.waitUntil { $0.closed.count == 2 }
    }

    func testBinaryMessageCloses1003() throws {
        let (server, handler) = try startServer(self)
        let result = try PythonClient.run("""
        async def main():
            async with ws() as c:
                await c.send(b"\\x00\\x01")
                return await close_of(c)
        """, port: server.boundPort) as? [Any]
        XCTAssertEqual(result?.first as? Int, 1003)
        handler.waitUntil { $0.closed.count == 1 }
        XCTAssertTrue(handler.snapshot.received.isEmpty)
    }

    func testInvalidUTF8Closes1007() throws {
        let (server, handler) = try startServer(self)
        let result = try PythonClient.run("""
        async def main():
            codes = []
            r = Raw(); r.send(0x1, b"ok \\xff"); codes.append(r.close_code())          # bad byte
            r = Raw(); r.send(0x1, b"cut \\xe2\\x82"); codes.append(r.close_code())    # ends mid-character
            r = Raw(); r.send(0x1, b"a\\xe2", fin=False); r.send(0x0, b"\\x28", fin=True)
            codes.append(r.close_code())                                               # bad across fragments
            r = Raw(); r.send(0x1, b"b\\xe2\\x82", fin=False); r.send(0x0, b"", fin=True)
            codes.append(r.close_code())                                               # empty final fragment
            return codes
        """, port: server.boundPort) as? [Int]
        XCTAssertEqual(result, [1007, 1007, 1007, 1007])
        handler.waitUntil { $0.closed.count == 4 }
        XCTAssertTrue(handler.snapshot.received.isEmpty, "nothing invalid reaches the handler")
    }

    func testCloseFromAnotherThreadAndFromNextOutbound() throws {
        let (server, handler) = try startServer(self)
        let result = try PythonClient.run("""
        async def main():
            async with ws() as c:
                await c.send("close-other-thread:4008")
                slow = await close_of(c)
            async with ws() as c:
                await c.send("close-outbound:4001")
                outbound = await close_of(c)
            return [slow, outbound]
        """, port: server.boundPort) as? [[Any]]
        XCTAssertEqual(result?[0].first as? Int, 4008)
        XCTAssertEqual(result?[0].last as? String, "slow consumer")
        XCTAssertEqual(result?[1].first as? Int, 4001)
        handler.waitUntil { $0.closed.count == 2 }
        XCTAssertEqual(server.connectionCount, 0)
    }
}
