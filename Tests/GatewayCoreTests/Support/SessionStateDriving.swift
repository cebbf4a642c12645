import XCTest
@testable import GatewayCore

/// Short ways to drive a `SessionState` through turns, so tests read as the scenario they check.
extension SessionState {
    /// Accepts message `id` (always admitted) and starts `turn`; fails the test unless accepted.
    @discardableResult
    mutating func startTurn(message id: String, text: String = "hello", turn: String, model: String = "demo",
                            author: String = "guest-1", now: Int = 0,
                            file: StaticString = #filePath, line: UInt = #line) -> Int {
        let outcome = acceptMessage(id: id, author: author, text: text, turn: turn,
                                    historyLimit: 40, now: now) { _ in TurnAdmission(model: model) }
        guard case .accepted(let ackSeq) = outcome else {
            XCTFail("message \(id) not accepted: \(outcome)", file: file, line: line)
            return -1
        }
        return ackSeq
    }

    mutating func finishTurn(_ turn: String, finish: TurnFinish = .stop, now: Int = 0,
                             file: StaticString = #filePath, line: UInt = #line) {
        let ended = endTurn(turn: turn, finish: finish, usage: TokenUsage(inputTokens: 1, outputTokens: 1, estimated: true),
                            upstreamFinish: nil, error: nil, now: now)
        XCTAssertTrue(ended, "turn \(turn) was not active", file: file, line: line)
    }

    /// Takes frames until `connection` is up to date.
    mutating func drainFrames(for connection: ConnectionID) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        while let frame = nextFrame(for: connection) { frames.append(frame) }
        return frames
    }

    /// The encoded events `seqs`, as a subscriber that keeps up receives them.
    func encodedEvents(_ seqs: ClosedRange<Int>) -> [[UInt8]] {
        seqs.map { log.event(seq: $0)?.encoded ?? [] }
    }
}
