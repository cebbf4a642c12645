import GatewayCluster
import XCTest

final class ClusterKeysTests: XCTestCase {
    func testChannelNamesRoundTripToTheirSession() {
        let keys = ClusterKeys(prefix: "gw")
        XCTAssertEqual(keys.session(ofChannel: keys.sessionChannel("room:1")), "room:1")
        XCTAssertNil(keys.session(ofChannel: keys.nodeChannel("n1")))
        XCTAssertNil(keys.session(ofChannel: "gw:s:"))
        XCTAssertNil(keys.session(ofChannel: "other:s:x"))
    }

    func testEverySessionKeyIsDistinct() {
        let keys = ClusterKeys()
        let names = [keys.sessionSeq("a"), keys.sessionLog("a"), keys.sessionMeta("a"), keys.sessionMessageIDs("a"),
                     keys.sessionTranscript("a"), keys.sessionReply("a"), keys.sessionChannel("a")]
        XCTAssertEqual(Set(names).count, names.count)
    }
}
