import XCTest
@testable import GatewayCore

final class TurnFinishUpstreamReasonTests: XCTestCase {
    func testLengthLikeReasonsOfEveryDialectAreLength() {
        // OpenAI-compatible and Ollama, Anthropic, OpenAI Responses, Anthropic's context-full stop.
        for reason in ["length", "max_tokens", "max_output_tokens", "model_context_window_exceeded", "LENGTH", "Max_Tokens"] {
            XCTAssertEqual(TurnFinish(upstreamReason: reason), .length, reason)
        }
    }

    func testEveryOtherReasonIsStop() {
        for reason in ["stop", "end_turn", "stop_sequence", "tool_use", "tool_calls", "content_filter", "pause_turn",
                       "refusal", "abort", "load", "", "lengthy"] {
            XCTAssertEqual(TurnFinish(upstreamReason: reason), .stop, reason)
        }
        XCTAssertEqual(TurnFinish(upstreamReason: nil), .stop)
    }
}
