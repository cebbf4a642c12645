import GatewayCore
import XCTest

final class QueuedTurnTests: XCTestCase {
    private let turn = QueuedTurn(session: "room \"1\"", turn: "t_1", model: "demo",
                                  messages: [ChatMessage(role: .system, content: "Be brief."),
                                             ChatMessage(role: .user, content: "héllo\n\u{1F600} \\ \"q\""),
                                             ChatMessage(role: .assistant, content: "")],
                                  user: "ann", tenant: "acme", queuedAt: 1_764_800_000_123)

    func testRoundTripsEveryField() throws {
        XCTAssertEqual(try QueuedTurn.decode(turn.encode()), turn)
        var reserved = turn
        reserved.reservedTokens = 1_234
        XCTAssertEqual(try QueuedTurn.decode(reserved.encode()), reserved)
        XCTAssertFalse(String(decoding: turn.encode(), as: UTF8.self).contains("reserved_tokens"), "none reserved: left out")
    }

    func testRefusesWhatIsNotAQueuedTurnNamingTheField() {
        let cases: [(String, String)] = [
            ("not json", "invalid JSON"),
            (#"{"turn":"t","model":"m","user":"u","tenant":"x","queued_at":1,"messages":[]}"#, "'session'"),
            (#"{"session":"s","turn":"t","model":"m","user":"u","tenant":"x","queued_at":"1","messages":[]}"#, "'queued_at'"),
            (#"{"session":"s","turn":"t","model":"m","user":"u","tenant":"x","queued_at":1}"#, "'messages'"),
            (#"{"session":"s","turn":"t","model":"m","user":"u","tenant":"x","queued_at":1,"reserved_tokens":"9","messages":[]}"#, "'reserved_tokens'"),
            (#"{"session":"s","turn":"t","model":"m","user":"u","tenant":"x","queued_at":1,"messages":[{"role":"tool","content":""}]}"#, "role"),
        ]
        for (text, mention) in cases {
            XCTAssertThrowsError(try QueuedTurn.decode(Array(text.utf8)), text) { error in
                XCTAssertTrue("\(error)".contains(mention), "\(error) should mention \(mention)")
            }
        }
    }
}
