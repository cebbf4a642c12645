import XCTest
@testable import GatewayCore

/// `Transcript`: the conversation as snapshots show it and as history for the model, capped at
/// `maxEntries` with the oldest dropped first.
final class TranscriptTests: XCTestCase {
    private let usage = TokenUsage(inputTokens: 0, outputTokens: 0, estimated: true)

    private func end(_ turn: String, _ finish: TurnFinish = .stop) -> SessionEventBody {
        .turnEnd(turn: turn, finish: finish, usage: usage, upstreamFinish: nil, error: nil)
    }

    /// A finished exchange: user message `q`, then the reply `a` streamed as given.
    private func exchange(_ transcript: inout Transcript, _ n: Int, question: String, answer: [String],
                          finish: TurnFinish = .stop) {
        transcript.apply(.message(id: "m\(n)", author: "guest-1", text: question))
        transcript.apply(.turnStart(turn: "t\(n)", model: "demo"))
        for piece in answer { transcript.apply(.turnDelta(turn: "t\(n)", text: piece)) }
        transcript.apply(end("t\(n)", finish))
    }

    func testMessagesAndTurnsBecomeEntries() {
        var transcript = Transcript()
        transcript.apply(.message(id: "m1", author: "guest-1", text: "Hi"))
        transcript.apply(.turnStart(turn: "t1", model: "smollm2"))
        XCTAssertEqual(transcript.entries, [
            Transcript.Entry(id: "m1", role: .user, author: "guest-1", text: "Hi", turn: nil, model: nil, streaming: false, finish: nil),
            Transcript.Entry(id: "t1", role: .assistant, author: "smollm2", text: "", turn: "t1", model: "smollm2", streaming: true, finish: nil),
        ])
        transcript.apply(.turnDelta(turn: "t1", text: "Hel"))
        transcript.apply(.turnDelta(turn: "t1", text: "lo"))
        XCTAssertEqual(transcript.entries[1].text, "Hello")
        XCTAssertTrue(transcript.entries[1].streaming)
        transcript.apply(end("t1", .length))
        XCTAssertEqual(transcript.entries[1].streaming, false)
        XCTAssertEqual(transcript.entries[1].finish, .length)
        XCTAssertEqual(transcript.entries[1].text, "Hello")
    }

    func testEventsForUnknownTurnsChangeNothing() {
        var transcript = Transcript()
        exchange(&transcript, 1, question: "q", answer: ["a"])
        let before = transcript
        transcript.apply(.turnDelta(turn: "t9", text: "stray"))
        transcript.apply(end("t9", .error))
        XCTAssertEqual(transcript, before)
    }

    func testDeltasGoToTheirOwnTurnEvenIfItIsNotTheLastEntry() {
        var transcript = Transcript()
        transcript.apply(.turnStart(turn: "t1", model: "demo"))
        transcript.apply(.message(id: "m2", author: "guest-1", text: "meanwhile"))
        transcript.apply(.turnDelta(turn: "t1", text: "late"))
        XCTAssertEqual(transcript.entries.map(\.text), ["late", "meanwhile"])
    }

    func testTheOldestEntriesAreDroppedPastMaxEntries() {
        var transcript = Transcript(maxEntries: 5)
        for n in 1...4 { exchange(&transcript, n, question: "q\(n)", answer: ["a\(n)"]) }
        XCTAssertEqual(transcript.maxEntries, 5)
        XCTAssertEqual(transcript.entries.map(\.id), ["t2", "m3", "t3", "m4", "t4"])
        XCTAssertEqual(transcript.entries.map(\.text), ["a2", "q3", "a3", "q4", "a4"])
    }

    func testMaxEntriesIsAtLeastTwoSoAnExchangeAlwaysFits() {
        for requested in [-3, 0, 1, 2] {
            var transcript = Transcript(maxEntries: requested)
            XCTAssertEqual(transcript.maxEntries, 2, "asked for \(requested)")
            exchange(&transcript, 1, question: "q1", answer: ["a1"])
            exchange(&transcript, 2, question: "q2", answer: ["a2"])
            XCTAssertEqual(transcript.entries.map(\.text), ["q2", "a2"])
        }
    }

    func testHistoryIsOldestFirstWithRoles() {
        var transcript = Transcript()
        exchange(&transcript, 1, question: "q1", answer: ["a", "1"])
        exchange(&transcript, 2, question: "q2", answer: ["a2"])
        XCTAssertEqual(transcript.history(limit: 10), [
            ChatMessage(role: .user, content: "q1"), ChatMessage(role: .assistant, content: "a1"),
            ChatMessage(role: .user, content: "q2"), ChatMessage(role: .assistant, content: "a2"),
        ])
    }

    func testHistoryLimitKeepsTheNewestMessages() {
        var transcript = Transcript()
        for n in 1...3 { exchange(&transcript, n, question: "q\(n)", answer: ["a\(n)"]) }
        XCTAssertEqual(transcript.history(limit: 3).map(\.content), ["a2", "q3", "a3"])
        XCTAssertEqual(transcript.history(limit: 1).map(\.content), ["a3"])
        XCTAssertEqual(transcript.history(limit: 0), [])
        XCTAssertEqual(transcript.history(limit: 100).count, 6)
    }

    func testHistoryLeavesOutStreamingAndEmptyReplies() {
        var transcript = Transcript()
        exchange(&transcript, 1, question: "q1", answer: [])
        exchange(&transcript, 2, question: "q2", answer: ["partial"], finish: .cancelled)
        transcript.apply(.message(id: "m3", author: "guest-1", text: "q3"))
        transcript.apply(.turnStart(turn: "t3", model: "demo"))
        transcript.apply(.turnDelta(turn: "t3", text: "still going"))
        XCTAssertEqual(transcript.history(limit: 10), [
            ChatMessage(role: .user, content: "q1"),
            ChatMessage(role: .user, content: "q2"), ChatMessage(role: .assistant, content: "partial"),
            ChatMessage(role: .user, content: "q3"),
        ])
        XCTAssertEqual(transcript.history(limit: 2).map(\.content), ["partial", "q3"],
                       "left-out replies do not use up the limit")
    }

    func testATranscriptReadBackIsCutToMaxEntriesOldestFirst() {
        let entries = (1...5).map { Transcript.Entry(id: "m\($0)", role: .user, author: "a", text: "\($0)") }
        var transcript = Transcript(maxEntries: 3, entries: entries)
        XCTAssertEqual(transcript.entries.map(\.id), ["m3", "m4", "m5"])
        transcript.apply(.message(id: "m6", author: "a", text: "6"))
        XCTAssertEqual(transcript.entries.map(\.id), ["m4", "m5", "m6"])
    }
}
