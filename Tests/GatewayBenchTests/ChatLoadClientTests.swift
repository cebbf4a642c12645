@testable import GatewayBench
import GatewayWSClient
import XCTest

/// The chat.v1 state machine of the load client, driven directly (no sockets): what it sends, and
/// how it counts, checks and times what it receives.
final class ChatLoadClientTests: XCTestCase {
    private let plan = ChatLoadPlan(sessionPrefix: "f", totalConnections: 4, subscribersPerSession: 2, sendsTurns: true)

    private func receive(_ client: ChatLoadClient, _ connection: Int, _ text: String) -> [String] {
        var outbox = ClientOutbox()
        Array(text.utf8).withUnsafeBytes { client.clientReceived(connection, text: $0, outbox: &outbox) }
        return outbox.frames.map { String(decoding: $0, as: UTF8.self) }
    }

    private func join(_ client: ChatLoadClient, _ connection: Int, seq: Int = 0) {
        var outbox = ClientOutbox()
        client.clientOpened(connection, outbox: &outbox)
        XCTAssertEqual(outbox.frames.map { String(decoding: $0, as: UTF8.self) }, [#"{"type":"hello","client":"chat-bench"}"#])
        XCTAssertEqual(receive(client, connection, #"{"type":"welcome","connection_id":"c"}"#),
                       [#"{"type":"join","session":"f-\#(connection / 2)"}"#])
        XCTAssertEqual(receive(client, connection, #"{"type":"joined","session":"s","seq":\#(seq),"recovered":false}"#), [])
    }

    private func event(_ type: String, seq: Int, from: Int? = nil, extra: String = "") -> String {
        let ts = WallClock.milliseconds()
        return #"{"type":"\#(type)","session":"s","seq":\#(seq)\#(from.map { ",\"from_seq\":\($0)" } ?? "")\#(extra),"ts":\#(ts)}"#
    }

    func testAWholeTurnWithMergedDeltasCountsAsComplete() {
        let client = ChatLoadClient(plan: plan, expectedTokensPerTurn: 5)
        join(client, 0)
        XCTAssertEqual(client.progress.joined.load(ordering: .relaxed), 1)
        XCTAssertEqual(client.turnFrames().map(\.connection), [0, 2], "the first subscriber of each session sends")
        for text in [event("message", seq: 1), event("turn.start", seq: 2), event("turn.delta", seq: 3),
                     event("turn.delta", seq: 6, from: 4), event("turn.delta", seq: 7),
                     event("turn.end", seq: 8, extra: #","usage":{"input_tokens":1,"output_tokens":5,"estimated":false}"#)] {
            _ = receive(client, 0, text)
        }
        XCTAssertEqual(client.progress.settled.load(ordering: .relaxed), 1)
        let tally = client.finalTally()
        XCTAssertEqual([tally.frames, tally.tokens, tally.mergedFrames, tally.turnEnds, tally.gaps, tally.duplicates],
                       [6, 5, 1, 1, 0, 0])
        XCTAssertEqual(tally.completeSubscribers, 1)
        XCTAssertEqual(tally.latency.count, 6)
        XCTAssertLessThan(tally.latency.max, 1_000_000, "same clock: well under a second")
    }

    func testTokensStampedUpstreamAreTimedOneByOneEvenWhenMerged() {
        let client = ChatLoadClient(plan: plan, expectedTokensPerTurn: 3)
        join(client, 0)
        let written = WallClock.microseconds() - 2_000
        _ = receive(client, 0, event("turn.delta", seq: 1, extra: #","text":"@\#(written) ""#))
        _ = receive(client, 0, event("turn.delta", seq: 3, from: 2, extra: #","text":"@\#(written) @\#(written) ""#))
        _ = receive(client, 0, event("turn.delta", seq: 4, extra: #","text":"no stamp here ""#))
        let tally = client.finalTally()
        XCTAssertEqual(tally.tokenLatency.count, 3, "one per stamped token, merged ones included")
        XCTAssertGreaterThanOrEqual(tally.tokenLatency.percentile(0.5) ?? 0, 1_900, "from the upstream's write, in µs")
        XCTAssertLessThan(tally.tokenLatency.max, 1_000_000)
        XCTAssertEqual(tally.latency.count, 3, "ts latency as before")
    }

    func testGapsDuplicatesReplayAndShortTurnsAreCaught() {
        let client = ChatLoadClient(plan: plan, expectedTokensPerTurn: 3)
        join(client, 1, seq: 10)
        _ = receive(client, 1, event("turn.delta", seq: 9))  // replayed (not after the join point): ignored
        _ = receive(client, 1, event("turn.delta", seq: 11))
        _ = receive(client, 1, event("turn.delta", seq: 11))  // duplicate
        _ = receive(client, 1, event("turn.delta", seq: 13))  // gap: 12 missing
        _ = receive(client, 1, event("turn.end", seq: 14, extra: #","usage":{"output_tokens":3}"#))
        join(client, 3)
        _ = receive(client, 3, event("turn.delta", seq: 1))
        _ = receive(client, 3, event("turn.end", seq: 2, extra: #","usage":{"output_tokens":1}"#))  // fewer than expected
        _ = receive(client, 3, #"{"type":"error","code":"busy","message":"m"}"#)
        let tally = client.finalTally()
        XCTAssertEqual(tally.gaps, 1)
        XCTAssertEqual(tally.duplicates, 1)
        XCTAssertEqual(tally.frames, 6, "a duplicate is still a frame received")
        XCTAssertEqual(tally.completeSubscribers, 0)
        XCTAssertEqual(tally.errors, ["busy": 1])
    }

    func testClosesBeforeTheRunEndsAreCountedAndSettle() {
        let client = ChatLoadClient(plan: plan, expectedTokensPerTurn: nil)
        join(client, 0)
        join(client, 1)
        client.clientClosed(0, reason: .closedByServer(code: 4008))
        client.clientClosed(2, reason: .connectFailed("refused"))
        XCTAssertEqual(client.progress.settled.load(ordering: .relaxed), 1, "a closed subscriber waits for no turn")
        XCTAssertEqual(client.progress.unjoinedFinished.load(ordering: .relaxed), 1)
        client.progress.stopping.store(true, ordering: .relaxed)
        client.clientClosed(1, reason: .closedByClient(code: 1000))
        let tally = client.finalTally()
        XCTAssertEqual([tally.joined, tally.failed, tally.closedEarly], [2, 1, 1])
        XCTAssertEqual(tally.firstFailure, "refused")
        XCTAssertEqual(tally.errors, ["closed_4008": 1])
    }

    func testAnNchanSubscriberIsJoinedByConnectingToItsChannel() {
        var nchan = plan
        nchan.sendsTurns = false
        nchan.flavor = .nchanSubscriber
        let client = ChatLoadClient(plan: nchan, expectedTokensPerTurn: nil)
        XCTAssertEqual(client.path(for: 3), "/sub/f-1")
        var outbox = ClientOutbox()
        client.clientOpened(3, outbox: &outbox)
        XCTAssertTrue(outbox.frames.isEmpty, "no hello: the upgrade is the subscription")
        XCTAssertEqual(client.progress.joined.load(ordering: .relaxed), 1)
        XCTAssertNil(ChatLoadClient(plan: plan, expectedTokensPerTurn: nil).path(for: 3), "chat.v1 uses the one path")
    }
}
