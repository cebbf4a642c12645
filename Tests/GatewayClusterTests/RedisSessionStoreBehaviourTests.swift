import Foundation
import GatewayCluster
import GatewayCore
import GatewayRedis
import RedisTestSupport
import XCTest

/// `SessionStoreBehaviour` against `RedisSessionStore` on a redis-server of the test's own.
final class RedisSessionStoreBehaviourTests: RedisStoreTestCase, StoreBackend {
    private var suite: SessionStoreBehaviour { SessionStoreBehaviour(backend: self) }

    func makeDriver(maxEvents: Int, outboundCapBytes: Int) throws -> StoreDriver {
        var settings = Self.defaultSettings
        settings.maxEvents = maxEvents
        settings.outboundCapBytes = outboundCapBytes
        return StoreDriver(try makeReadyStore(settings))
    }

    func fanouts(forEvents events: Int) -> Int { events }

    func waitUntilLogged(_ driver: StoreDriver, session: String, seq: Int) throws {
        try waitForSeq(session: session, atLeast: seq)
    }

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
