import GatewayCore
import GatewayRedis
import XCTest
@testable import GatewayCluster

/// What the presence scripts publish and reply, read back: cjson's quirks (an empty list as `{}`,
/// `\/`) included, and anything else refused.
final class PresenceWireTests: XCTestCase {
    private func message(_ text: String) -> PresenceMessage? { PresenceMessage(Array(text.utf8)) }

    func testAMessageAsCjsonWritesIt() {
        XCTAssertEqual(message(#"{"m":[["b\/c","agent"],["a","user"]],"e":"leave","v":"1733270000123456","s":[["x","user"]]}"#),
                       PresenceMessage(version: 1_733_270_000_123_456, event: .leave, subjects: [PresenceMember(user: "x", role: "user")],
                                       users: [PresenceMember(user: "b/c", role: "agent"), PresenceMember(user: "a", role: "user")]))
        XCTAssertEqual(message(#"{"e":"leave","s":[["x","user"]],"m":{},"v":"2"}"#)?.users, [], "cjson's empty list")
    }

    func testMalformedMessagesAreRefused() {
        for text in [#"{"e":"wave","s":[],"m":[],"v":"1"}"#, #"{"e":"join","s":[],"m":[],"v":1}"#, #"{"e":"join","s":[["a"]],"m":[],"v":"1"}"#,
                     #"{"e":"join","s":[],"m":{"a":1},"v":"1"}"#, #"{"e":"join","m":[],"v":"1"}"#, "[]", "not json"] {
            XCTAssertNil(message(text), text)
        }
    }

    func testReplies() {
        let value = RedisValue.array([.bulk("42"), .integer(1), .integer(0), .array([.bulk("b"), .bulk("user"), .bulk("a"), .bulk("admin")])])
        XCTAssertEqual(PresenceReply(value), PresenceReply(version: 42, published: 1, leaseLost: false, users: [
            PresenceMember(user: "a", role: "admin"), PresenceMember(user: "b", role: "user"),
        ]))
        XCTAssertEqual(PresenceReply(.array([.bulk("0"), .integer(0), .integer(1), .array([])]))?.leaseLost, true)
        XCTAssertNil(PresenceReply(.array([.bulk("1"), .integer(0), .integer(0), .array([.bulk("odd")])])))
        XCTAssertNil(PresenceReply(.array([.integer(1), .integer(0), .integer(0), .array([])])))
        XCTAssertNil(PresenceReply(.status("OK")))
    }

    func testKeysAndChannels() {
        let keys = PresenceKeys(ClusterKeys(prefix: "gw"))
        XCTAssertEqual(keys.members("room:1"), "gw:p:s:room:1")
        XCTAssertEqual(keys.channel("room:1"), "gw:p:c:room:1")
        XCTAssertEqual(keys.nodeSessions("n|1"), "gw:p:n:n|1")
        XCTAssertEqual(keys.nodes, "gw:p:nodes")
        XCTAssertEqual(keys.session(ofChannel: keys.channel("room:1")), "room:1")
        XCTAssertNil(keys.session(ofChannel: "gw:p:c:"))
        XCTAssertNil(keys.session(ofChannel: ClusterKeys(prefix: "gw").sessionChannel("room:1")))
        XCTAssertTrue(keys.members("x").hasPrefix(ClusterKeys(prefix: "gw").presencePrefix))
    }
}
