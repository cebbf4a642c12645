import RedisTestSupport
import GatewayRedis
import XCTest

/// AUTH after connect against a server with `requirepass`.
final class RedisClientAuthTests: RedisServerTestCase {
    override var serverPassword: String? { "gateway-secret" }

    func testLogsInWithThePasswordFromTheURL() async throws {
        let client = try makeClient()  // server.url carries the password
        let pong = try await client.send(["PING"])
        XCTAssertEqual(pong, .status("PONG"))

        let asDefaultUser = try makeClient(url: "redis://default:gateway-secret@127.0.0.1:\(server.port)")
        let whoAmI = try await asDefaultUser.send(["ACL", "WHOAMI"])
        XCTAssertEqual(whoAmI, .bulk("default"), "user:password sends AUTH with both")
    }

    func testAWrongOrMissingPasswordKeepsTheClientDownWithTheServersReason() throws {
        let wrong = try makeClient(url: "redis://:not-the-secret@127.0.0.1:\(server.port)")
        let missing = try makeClient(url: "redis://127.0.0.1:\(server.port)")
        let deadline = Date().addingTimeInterval(3)
        while !(wrong.state.isDown && missing.state.isDown), Date() < deadline { usleep(2_000) }
        guard case let .down(wrongReason) = wrong.state, case let .down(missingReason) = missing.state else {
            return XCTFail("states: \(wrong.state), \(missing.state)")
        }
        XCTAssertEqual(wrongReason.serverErrorCode, "WRONGPASS", "\(wrongReason)")
        XCTAssertEqual(missingReason.serverErrorCode, "NOAUTH", "the handshake PING is refused: \(missingReason)")
    }
}
