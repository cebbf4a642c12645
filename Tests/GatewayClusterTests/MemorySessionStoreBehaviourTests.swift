import GatewayCore
import XCTest

/// `SessionStoreBehaviour` against `MemorySessionStore` (its expiry is tested in GatewayCoreTests).
final class MemorySessionStoreBehaviourTests: XCTestCase, StoreBackend {
    private var suite: SessionStoreBehaviour { SessionStoreBehaviour(backend: self) }

    func makeDriver(maxEvents: Int, outboundCapBytes: Int) throws -> StoreDriver {
        StoreDriver(MemorySessionStore(settings: .init(maxEvents: maxEvents, maxTranscriptEntries: 100, idleTTLMillis: 600_000,
                                                       outboundCapBytes: outboundCapBytes)))
    }

    func fanouts(forEvents events: Int) -> Int { 1 }

    func waitUntilLogged(_ driver: StoreDriver, session: String, seq: Int) throws {}

    func testJoinAndLeave() throws { try suite.joinAndLeave() }
    func testAppendsToATurnThatIsNotActiveAreDropped() throws { try suite.appendsToATurnThatIsNotActiveAreDropped() }
    func testEveryAppendWakesEverySubscriberThatKeepsUp() throws { try suite.everyAppendWakesEverySubscriberThatKeepsUp() }
    func testRefusedMessagesAppendNothing() throws { try suite.refusedMessagesAppendNothing() }
    func testTheSinkIsCalledAsDirectlyAfterManyDeliveriesAsAfterTheFirst() throws { try suite.theSinkIsCalledAsDirectlyAfterManyDeliveriesAsAfterTheFirst() }
    func testASubscriberPastTheOutboundCapIsASlowConsumerWhileOthersAreWoken() throws { try suite.aSubscriberPastTheOutboundCapIsASlowConsumerWhileOthersAreWoken() }
    func testASlowConsumerThatCatchesUpIsWokenAgain() throws { try suite.aSlowConsumerThatCatchesUpIsWokenAgain() }
    func testSessionsAreIsolated() throws { try suite.sessionsAreIsolated() }
    func testActiveTurnIsReportedUntilItEnds() throws { try suite.activeTurnIsReportedUntilItEnds() }
    func testAdmitIsGivenTheFinishedHistory() throws { try suite.admitIsGivenTheFinishedHistory() }
    func testResumeInsideTheWindowReplaysExactlyTheLaterEvents() throws { try suite.resumeInsideTheWindowReplaysExactlyTheLaterEvents() }
    func testResumeFromZeroOnAnUntrimmedLogReplaysEverything() throws { try suite.resumeFromZeroOnAnUntrimmedLogReplaysEverything() }
    func testResumeOutsideTheWindowGetsTheSnapshot() throws { try suite.resumeOutsideTheWindowGetsTheSnapshot() }
    func testSnapshotShowsTheStreamingTurnSoFarThenItsLiveEventsFollow() throws { try suite.snapshotShowsTheStreamingTurnSoFarThenItsLiveEventsFollow() }
    func testLateJoinersGetWaitingDeltasMerged() throws { try suite.lateJoinersGetWaitingDeltasMerged() }
    func testATurnEndedByANodeThatRelayedNothingKeepsItsTextInTheTranscript() throws {
        try suite.aTurnEndedByANodeThatRelayedNothingKeepsItsTextInTheTranscript()
    }
    func testSubscribersThatKeepUpReceiveIdenticalFrames() throws { try suite.subscribersThatKeepUpReceiveIdenticalFrames() }
    func testASubscriberTrimmedOutGetsASnapshotThenLiveEvents() throws { try suite.aSubscriberTrimmedOutGetsASnapshotThenLiveEvents() }
    func testJoiningAgainRepositionsTheCursor() throws { try suite.joiningAgainRepositionsTheCursor() }
}
