@testable import GatewayBench
import XCTest

final class ChatLoadPlanTests: XCTestCase {
    func testProcessesShareEveryConnectionExactlyOnce() {
        let plan = ChatLoadPlan(sessionPrefix: "p", totalConnections: 103, subscribersPerSession: 10, sendsTurns: true)
        for processes in [1, 2, 3, 7, 200] {
            var seen: [Int] = []
            var senders: [String] = []
            for index in 0..<processes {
                let slice = plan.slice(process: index, of: processes)
                for local in 0..<slice.localCount {
                    seen.append(slice.globalIndex(ofLocal: local))
                    XCTAssertEqual(slice.session(ofLocal: local), "p-\(slice.globalIndex(ofLocal: local) / 10)")
                    if slice.isSender(local) { senders.append(slice.session(ofLocal: local)) }
                }
            }
            XCTAssertEqual(seen.sorted(), Array(0..<103), "\(processes) processes")
            XCTAssertEqual(senders.sorted(), (0..<11).map { "p-\($0)" }.sorted(), "one sender per session")
        }
        XCTAssertEqual(plan.sessionCount, 11)
    }

    func testIdleRunsSendNoTurns() {
        let plan = ChatLoadPlan(sessionPrefix: "i", totalConnections: 5, subscribersPerSession: 1, sendsTurns: false)
        XCTAssertFalse((0..<5).contains(where: plan.isSender))
        XCTAssertTrue(ChatLoadClient(plan: plan, expectedTokensPerTurn: nil).turnFrames().isEmpty)
    }
}
