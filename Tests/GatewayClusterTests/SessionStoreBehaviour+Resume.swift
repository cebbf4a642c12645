import GatewayTestSupport
import GatewayCore
import XCTest

/// The join and resume rules of docs/protocol.md at the store's level. Each is checked twice: joining
/// a session nobody here watched while it was written (a shared store reads it from Redis then),
/// and joining one a subscriber watched all along (a shared store answers from its live mirror).
extension SessionStoreBehaviour {
    /// Two finished turns with one delta each, seqs 1...8: no two deltas are adjacent, so a replay is
    /// one frame per event.
    func twoFinishedTurns(_ store: StoreDriver, _ session: String) throws {
        for i in 1...2 {
            _ = try store.accepted(session, id: "m\(i)", turn: "t\(i)", text: "question \(i)")
            store.delta(session, turn: "t\(i)", text: "answer \(i)")
            store.end(session, turn: "t\(i)", replyText: "answer \(i)")
        }
        try backend.waitUntilLogged(store, session: session, seq: 8)
    }

    func transcriptOfTwoFinishedTurns() -> [[String: JSONValue]] {
        (1...2).flatMap { i -> [[String: JSONValue]] in
            [["id": .string("m\(i)"), "role": .string("user"), "author": .string("guest-1"), "text": .string("question \(i)")],
             ["id": .string("t\(i)"), "role": .string("assistant"), "author": .string("demo"), "text": .string("answer \(i)"),
              "turn": .string("t\(i)"), "model": .string("demo"), "streaming": .bool(false), "finish": .string("stop")]]
        }
    }

    static let typesOfTwoFinishedTurns = ["message", "turn.start", "turn.delta", "turn.end", "message", "turn.start", "turn.delta", "turn.end"]

    /// Runs `check` on a session written with a watcher subscribed (`watched`) and on one without.
    func bothWays(maxEvents: Int = 100, _ check: (StoreDriver, String, Bool) throws -> Void) throws {
        let store = try backend.makeDriver(maxEvents: maxEvents)
        for watched in [false, true] {
            let session = watched ? "watched" : "unwatched"
            if watched { _ = try store.joined(session, watcher) }
            try check(store, session, watched)
        }
    }

    func resumeInsideTheWindowReplaysExactlyTheLaterEvents() throws {
        try bothWays(maxEvents: 4) { store, session, watched in
            try twoFinishedTurns(store, session)
            XCTAssertEqual(try store.joined(session, alice, afterSeq: 4), .joined(seq: 8, recovered: true), "watched: \(watched)")
            let frames = try store.frames(session, alice, through: 8)
            XCTAssertEqual(frames.map(\.seq), [5, 6, 7, 8])
            XCTAssertEqual(frames.map(\.type), Array(Self.typesOfTwoFinishedTurns[4...]))
            XCTAssertEqual(try store.joined(session, bob, afterSeq: 8), .joined(seq: 8, recovered: true))
            XCTAssertNil(store.store.nextFrame(session: session, connection: bob), "nothing after the last seq")
        }
    }

    func resumeFromZeroOnAnUntrimmedLogReplaysEverything() throws {
        try bothWays { store, session, _ in
            try twoFinishedTurns(store, session)
            XCTAssertEqual(try store.joined(session, alice, afterSeq: 0), .joined(seq: 8, recovered: true))
            XCTAssertEqual(try store.frames(session, alice, through: 8).map(\.type), Self.typesOfTwoFinishedTurns)
            XCTAssertEqual(try store.joined(session, bob), .joined(seq: 8, recovered: false), "no after_seq: nothing recovered")
            let replay = try store.frames(session, bob, through: 8)
            XCTAssertEqual(replay.map(\.seq), Array(1...8))
            XCTAssertEqual(replay[3].fields["finish"], .string("stop"))
        }
    }

    func resumeOutsideTheWindowGetsTheSnapshot() throws {
        try bothWays(maxEvents: 4) { store, session, _ in
            try twoFinishedTurns(store, session)
            for (connection, afterSeq) in [(alice, 3), (bob, 9), (ConnectionID(3), -1), (ConnectionID(4), nil)] as [(ConnectionID, Int?)] {
                XCTAssertEqual(try store.joined(session, connection, afterSeq: afterSeq), .joined(seq: 8, recovered: false),
                               "after_seq \(String(describing: afterSeq))")
                let frames = store.drain(session, connection)
                XCTAssertEqual(frames.map(\.type), ["snapshot"])
                XCTAssertEqual(frames.first?.seq, 8)
                XCTAssertEqual(frames.first?.messages, transcriptOfTwoFinishedTurns())
            }
        }
    }

    func snapshotShowsTheStreamingTurnSoFarThenItsLiveEventsFollow() throws {
        try bothWays(maxEvents: 3) { store, session, _ in
            try twoFinishedTurns(store, session)
            _ = try store.accepted(session, id: "m3", turn: "t3", text: "question 3")
            store.delta(session, turn: "t3", text: "Hel")
            store.delta(session, turn: "t3", text: "lo")
            try backend.waitUntilLogged(store, session: session, seq: 12)
            XCTAssertEqual(try store.joined(session, alice), .joined(seq: 12, recovered: false))
            let snapshot = try XCTUnwrap(store.drain(session, alice).first)
            XCTAssertEqual(snapshot.type, "snapshot")
            XCTAssertEqual(snapshot.seq, 12)
            XCTAssertEqual(snapshot.messages.count, 6)
            XCTAssertEqual(snapshot.messages.last, [
                "id": .string("t3"), "role": .string("assistant"), "author": .string("demo"), "text": .string("Hello"),
                "turn": .string("t3"), "model": .string("demo"), "streaming": .bool(true),
            ])
            store.delta(session, turn: "t3", text: " world")
            store.end(session, turn: "t3", replyText: "Hello world")
            let live = try store.frames(session, alice, through: 14)
            XCTAssertEqual(live.map(\.type), ["turn.delta", "turn.end"])
            XCTAssertEqual(live.map(\.seq), [13, 14])
            XCTAssertEqual(live[0].text, " world")
        }
    }

    /// The node that ends a turn may have relayed none of it (it reaped a lost worker's turn, or
    /// stopped one nobody claimed): the transcript still holds what subscribers were sent.
    func aTurnEndedByANodeThatRelayedNothingKeepsItsTextInTheTranscript() throws {
        try bothWays { store, session, _ in
            _ = try store.accepted(session, id: "m1", turn: "t1")
            store.delta(session, turn: "t1", text: "Hel")
            store.delta(session, turn: "t1", text: "lo")
            store.end(session, turn: "t1", finish: .error, replyText: "",
                      error: TurnError(code: "worker_lost", message: "the worker running this turn stopped answering"))
            try backend.waitUntilLogged(store, session: session, seq: 5)
            _ = try store.joined(session, alice, afterSeq: -1)
            let snapshot = try XCTUnwrap(store.drain(session, alice).first)
            XCTAssertEqual(snapshot.messages.last?["text"], .string("Hello"))
            XCTAssertEqual(snapshot.messages.last?["finish"], .string("error"))
        }
    }

    func lateJoinersGetWaitingDeltasMerged() throws {
        try bothWays { store, session, _ in
            _ = try store.accepted(session, id: "m1", turn: "t1")
            for piece in ["a", "b", "c"] { store.delta(session, turn: "t1", text: piece) }
            store.end(session, turn: "t1", replyText: "abc")
            try backend.waitUntilLogged(store, session: session, seq: 6)
            XCTAssertEqual(try store.joined(session, alice, afterSeq: 2), .joined(seq: 6, recovered: true))
            let frames = try store.frames(session, alice, through: 6)
            XCTAssertEqual(frames.map(\.type), ["turn.delta", "turn.end"])
            XCTAssertEqual(frames[0].fromSeq, 3)
            XCTAssertEqual(frames[0].seq, 5)
            XCTAssertEqual(frames[0].text, "abc")
        }
    }

    func subscribersThatKeepUpReceiveIdenticalFrames() throws {
        let store = try backend.makeDriver()
        _ = try store.joined("s", alice)
        _ = try store.joined("s", bob)
        var aliceFrames: [DecodedFrame] = []
        var bobFrames: [DecodedFrame] = []
        var seq = 0
        for turn in 1...3 {
            seq = try store.accepted(id: "m\(turn)", turn: "t\(turn)") + 1
            for piece in 1...4 {
                aliceFrames += try store.frames(alice, through: seq)
                bobFrames += try store.frames(bob, through: seq)
                store.delta(turn: "t\(turn)", text: "p\(piece) ")
                seq += 1
            }
            aliceFrames += try store.frames(alice, through: seq)
            bobFrames += try store.frames(bob, through: seq)
            store.end(turn: "t\(turn)")
            seq += 1
        }
        aliceFrames += try store.frames(alice, through: seq)
        bobFrames += try store.frames(bob, through: seq)
        XCTAssertEqual(aliceFrames.map(\.bytes), bobFrames.map(\.bytes))
        XCTAssertEqual(aliceFrames.map(\.seq), (1...21).map { $0 })
        XCTAssertTrue(aliceFrames.allSatisfy { $0.fromSeq == nil }, "nothing was waiting, so nothing merged")
    }

    func aSubscriberTrimmedOutGetsASnapshotThenLiveEvents() throws {
        let store = try backend.makeDriver(maxEvents: 4)
        _ = try store.joined("s", alice)
        _ = try store.joined("s", bob)
        try twoFinishedTurns(store, "s")
        _ = try store.frames(alice, through: 8)
        let frames = try store.frames(bob, through: 8)
        XCTAssertEqual(frames.map(\.type), ["snapshot"], "bob's place (seq 0) left the log before he read anything")
        XCTAssertEqual(frames.first?.messages, transcriptOfTwoFinishedTurns())
        _ = try store.accepted(id: "m3", turn: "t3")
        XCTAssertEqual(try store.frames(bob, through: 10).map(\.seq), [9, 10])
    }

    func joiningAgainRepositionsTheCursor() throws {
        try bothWays { store, session, _ in
            try twoFinishedTurns(store, session)
            _ = try store.joined(session, alice)
            XCTAssertEqual(try store.frames(session, alice, through: 8).count, 8)
            XCTAssertEqual(try store.joined(session, alice, afterSeq: 5), .joined(seq: 8, recovered: true))
            XCTAssertEqual(try store.frames(session, alice, through: 8).map(\.seq), [6, 7, 8])
            XCTAssertEqual(store.store.leave(session: session, connection: alice), session == "watched" ? 1 : 0)
        }
    }
}
