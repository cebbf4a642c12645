import RedisTestSupport
import GatewayRedis
import XCTest

/// A server that replies and hangs up while the client is still writing a command to it.
final class RedisClientServerHangUpTests: RedisServerTestCase {
    /// Redis refuses a bulk string over 1 MB as soon as it reads its length, and hangs up.
    override var serverArguments: [String] { ["--proto-max-bulk-len", "1mb"] }

    func testAServerHangingUpMidWriteFailsTheCommandAndTheClientReconnects() async throws {
        let states = Recorder<RedisConnectionState>()
        let client = try makeClient(onStateChange: states.append)
        _ = try await client.send(["PING"])
        // 16 MB do not fit in the socket buffers: Redis replies and closes while most are unsent.
        let tooLarge = [UInt8](repeating: 120, count: 16 << 20)
        let error = await failure(of: ["SET", "too-large", .bytes(tooLarge)], on: client)
        switch error {
        case .connectionLost?: break  // the write failed first (ECONNRESET)
        case let .server(text)? where text.contains("invalid bulk length"): break  // the parting reply was read first
        default: XCTFail("\(String(describing: error))")
        }
        XCTAssertTrue(states.waitUntil { $0.contains(where: \.isDown) && $0.last == .connected }, "\(states.all)")
        let pong = try await client.send(["PING"])
        XCTAssertEqual(pong, .status("PONG"), "reconnected")
    }
}
