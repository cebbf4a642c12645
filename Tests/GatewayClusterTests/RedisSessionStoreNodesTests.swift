import GatewayTestSupport
import Foundation
@testable import GatewayCluster
import GatewayCore
import RedisTestSupport
import XCTest

/// Several `RedisSessionStore`s on one redis-server, as the nodes of a cluster: what one appends the
/// others' subscribers see, byte for byte, with seqs gap-free however many append at once.
final class RedisSessionStoreNodesTests: RedisStoreTestCase {
    private let alice = ConnectionID(1)
    private let bob = ConnectionID(2)

    func testASubscriberOnEachNodeReceivesByteIdenticalFramesWhoeverAppends() throws {
        let a = StoreDriver(try makeReadyStore())
        let b = StoreDriver(try makeReadyStore())
        _ = try a.joined("s", alice)
        _ = try b.joined("s", bob)
        var onA: [DecodedFrame] = []
        var onB: [DecodedFrame] = []
        func take(through seq: Int) throws {
            onA += try a.frames(alice, through: seq)
            onB += try b.frames(bob, through: seq)
        }
        var seq = 0
        for turn in 1...4 {
            let (writer, other) = turn % 2 == 0 ? (a, b) : (b, a)
            seq = try writer.accepted(id: "m\(turn)", turn: "t\(turn)", text: "question \(turn): \"quoted\" \\ / ✓\n") + 1
            try take(through: seq)
            for piece in 1...10 {
                writer.delta(turn: "t\(turn)", text: "piece \(piece) ⟨\(turn)⟩\t")
                seq += 1
                try take(through: seq)
            }
            other.end(turn: "t\(turn)", finish: turn == 4 ? .error : .stop, replyText: "",
                      error: turn == 4 ? TurnError(code: "upstream_http", message: "HTTP 503: \"busy\"") : nil)
            seq += 1
            try take(through: seq)
        }
        XCTAssertEqual(onA.map(\.seq), Array(1...seq).map { $0 }, "one frame per event: nothing was waiting")
        XCTAssertEqual(onA.map(\.bytes), onB.map(\.bytes))
        let stored = try cli("XRANGE", ClusterKeys().sessionLog("s"), "-", "+")
        let frames = stride(from: 2, to: stored.count, by: 3).map { Array(stored[$0].utf8) }
        XCTAssertEqual(frames, onA.map(\.bytes), "what both relayed is what Redis holds")
    }

    func testConcurrentMessagesFromSeveralNodesKeepSeqsGapFreeAndOneTurnAtATime() throws {
        let nodes = try (0..<3).map { _ in StoreDriver(try makeReadyStore(Self.roomy)) }
        let watcher = StoreDriver(try makeReadyStore(Self.roomy))
        _ = try watcher.joined("s", alice)
        let failures = Recorder<String>()
        DispatchQueue.concurrentPerform(iterations: nodes.count) { index in
            let node = nodes[index]
            for k in 1...15 {
                while true {
                    do {
                        switch try node.accept(id: "n\(index)-m\(k)", turn: "n\(index)-t\(k)").get() {
                        case .accepted:
                            for piece in 1...3 { node.delta(turn: "n\(index)-t\(k)", text: "\(index).\(k).\(piece) ") }
                            node.end(turn: "n\(index)-t\(k)")
                        case .busy:
                            usleep(200)
                            continue
                        case let other:
                            failures.append("n\(index)-m\(k): \(other)")
                        }
                    } catch {
                        failures.append("n\(index)-m\(k): \(error)")
                    }
                    break
                }
            }
        }
        XCTAssertEqual(failures.all, [])
        let total = 3 * 15 * 6
        let frames = try watcher.frames(alice, through: total)
        var expected = 1
        for frame in frames {
            guard let covered = frame.coveredSeqs else { return XCTFail("unexpected \(frame.description)") }
            XCTAssertEqual(covered.lowerBound, expected, "gap-free")
            expected = covered.upperBound + 1
        }
        XCTAssertEqual(expected, total + 1)
        // Turns never overlap: each message is followed by its own start, deltas and end.
        let types = frames.map { $0.type ?? "" }
        XCTAssertEqual(types.filter { $0 == "message" }.count, 45)
        var open: String?
        for frame in frames {
            switch frame.type {
            case "turn.start": XCTAssertNil(open); open = frame.turn
            case "turn.delta": XCTAssertEqual(frame.turn, open)
            case "turn.end": XCTAssertEqual(frame.turn, open); open = nil
            default: XCTAssertNil(open)
            }
        }
    }

    func testDeltasOfOneTurnFromSeveralNodesAllLandInOneGapFreeLog() throws {
        let nodes = try (0..<3).map { _ in StoreDriver(try makeReadyStore(Self.roomy)) }
        _ = try nodes[0].accepted(id: "m1", turn: "t1")
        _ = try nodes[1].joined("s", bob)
        DispatchQueue.concurrentPerform(iterations: 3) { index in
            for piece in 1...50 { nodes[index].delta(turn: "t1", text: "<\(index):\(piece)>") }
        }
        // Appends are fire-and-forget: an end sent now could overtake other nodes' deltas (and drop them).
        try waitForSeq(session: "s", atLeast: 152)
        nodes[2].end(turn: "t1")
        let frames: [DecodedFrame]
        do { frames = try nodes[1].frames(bob, through: 2 + 150 + 1) } catch {
            return XCTFail("\(error); mirror: \((nodes[1].store as! RedisSessionStore).mirrorSummary("s")); warnings: \(warnings.all)")
        }
        let text = frames.compactMap { $0.type == "turn.delta" ? $0.text : nil }.joined()
        let pieces = text.split(separator: ">").map { $0.dropFirst().split(separator: ":").compactMap { Int($0) } }
        for index in 0..<3 {
            let mine = pieces.filter { $0.first == index }.map { $0[1] }
            XCTAssertEqual(mine, Array(1...50), "node \(index)'s deltas, each once, in its order")
        }
        XCTAssertEqual(try cli("GET", ClusterKeys().sessionSeq("s")), ["153"])
    }

    func testTheSameMessageSentToTwoNodesAtOnceIsAcceptedOnceAndAckedAlike() throws {
        let a = StoreDriver(try makeReadyStore())
        let b = StoreDriver(try makeReadyStore())
        for round in 1...20 {
            let outcomes = Recorder<SessionState.MessageOutcome>()
            DispatchQueue.concurrentPerform(iterations: 2) { index in
                if let outcome = try? [a, b][index].accept(id: "m\(round)", turn: "t\(round)-\(index)").get() {
                    outcomes.append(outcome)
                }
            }
            let ack = 3 * round - 2  // message, start, end per round
            XCTAssertEqual(Set(outcomes.all.map(String.init(describing:))),
                           ["accepted(ackSeq: \(ack))", "duplicate(ackSeq: \(ack))"], "round \(round)")
            let active = try XCTUnwrap(try a.active())
            a.end(turn: active.turn)
            try waitForSeq(session: "s", atLeast: ack + 2)
        }
    }

    func testTwoMessagesSentToTwoNodesAtOnceStartOneTurnAndTheOtherIsBusy() throws {
        let a = StoreDriver(try makeReadyStore())
        let b = StoreDriver(try makeReadyStore())
        let outcomes = Recorder<SessionState.MessageOutcome>()
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            if let outcome = try? [a, b][index].accept(id: "m\(index)", turn: "t\(index)").get() { outcomes.append(outcome) }
        }
        XCTAssertEqual(Set(outcomes.all.map(String.init(describing:))), ["accepted(ackSeq: 1)", "busy"])
        XCTAssertEqual(try cli("GET", ClusterKeys().sessionSeq("s")), ["2"], "the busy one appended nothing")
    }
}
