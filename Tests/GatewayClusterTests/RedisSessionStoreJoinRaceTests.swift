import GatewayTestSupport
import Foundation
@testable import GatewayCluster
import GatewayCore
import GatewayRedis
import RedisTestSupport
import Synchronization
import XCTest

/// The history/subscribe race (Centrifugo and Socket.IO both had it): a client resumes on one node
/// while another node streams a reply into the session. Whenever the join lands, the replay and the
/// live events after it must cover every seq after `after_seq` exactly once.
final class RedisSessionStoreJoinRaceTests: RedisStoreTestCase {
    private let watcher = ConnectionID(99)

    /// The session's seq counter in Redis right now.
    private func currentSeq(_ probe: RedisClient, _ session: String = "s") throws -> Int {
        let answer = Recorder<Result<RedisValue, RedisError>>()
        probe.send(["GET", RedisArgument(ClusterKeys().sessionSeq(session))]) { answer.append($0) }
        guard answer.waitUntil(timeout: 5, { !$0.isEmpty }) else { throw StoreDriver.Timeout(description: "GET seq") }
        return Int(try answer.all[0].get().string ?? "0") ?? 0
    }

    func testResumingWhileAnotherNodeStreamsMissesNothingAndRepeatsNothing() throws {
        // The log holds far more than one reply, so every resume is inside it (recovered).
        let writer = StoreDriver(try makeReadyStore(Self.roomy))
        let reader = StoreDriver(try makeReadyStore(Self.roomy))
        let probe = try makeClient()
        for round in 1...40 {
            // Odd rounds join a session the reader node does not mirror yet (subscribe, then read, then
            // the events buffered meanwhile); even rounds one it mirrors live for a watcher.
            let mirrored = round % 2 == 0
            if mirrored { _ = try reader.joined("s", watcher) }
            let turn = "t\(round)"
            let messageSeq = try writer.accepted(id: "m\(round)", turn: turn)
            // The writer streams until 64 deltas after the join has answered: the join always lands mid-reply.
            let joined = Mutex(false)
            let pieces = Mutex(0)
            let streamed = DispatchSemaphore(value: 0)
            DispatchQueue.global().async {
                var piece = 0
                var afterJoin = 0
                while afterJoin < 64, piece < 100_000 {
                    piece += 1
                    writer.delta(turn: turn, text: "\(piece) ")
                    if piece % 8 == 0 { usleep(50) }
                    if joined.withLock({ $0 }) { afterJoin += 1 }
                }
                writer.end(turn: turn)
                pieces.withLock { $0 = piece }
                streamed.signal()
            }
            let target = messageSeq + 1 + Int.random(in: 1...200)
            var seen = try currentSeq(probe)
            while seen < target { seen = try currentSeq(probe) }
            let connection = ConnectionID(UInt64(100 + round))
            XCTAssertEqual(try reader.joined("s", connection, afterSeq: seen).recoveredFlag, true, "round \(round)")
            joined.withLock { $0 = true }
            let frames: [DecodedFrame]
            do {
                frames = try reader.frames("s", connection, until: { $0.type == "turn.end" && $0.turn == turn }, what: "ending \(turn)")
            } catch {
                let store = reader.store as! RedisSessionStore
                return XCTFail("round \(round), after_seq \(seen): \(error); mirror: \(store.mirrorSummary("s")); warnings: \(warnings.all)")
            }
            streamed.wait()
            let endSeq = messageSeq + 1 + pieces.withLock { $0 } + 1
            var expected = seen + 1
            var text = ""
            for frame in frames {
                guard let covered = frame.coveredSeqs else { return XCTFail("round \(round): \(frame.description)") }
                XCTAssertEqual(covered.lowerBound, expected, "round \(round): gap or repeat at \(frame.description)")
                expected = covered.upperBound + 1
                if frame.type == "turn.delta" { text += frame.text ?? "" }
            }
            XCTAssertEqual(expected, endSeq + 1, "round \(round)")
            let firstPiece = seen - messageSeq
            XCTAssertEqual(text, (firstPiece...pieces.withLock { $0 }).map { "\($0) " }.joined(), "round \(round): after_seq \(seen)")
            _ = reader.store.leave(session: "s", connection: connection)
            if mirrored { _ = reader.store.leave(session: "s", connection: watcher) }
            XCTAssertEqual(reader.store.sessionCount, 0, "the mirror goes with its last subscriber")
        }
    }
}

extension SessionState.JoinOutcome {
    var recoveredFlag: Bool {
        switch self { case .joined(_, let recovered): recovered }
    }
}
