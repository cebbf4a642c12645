import XCTest
@testable import GatewayCore

final class ResponseCacheKeyTests: XCTestCase {
    private let conversation = [ChatMessage(role: .system, content: "You are Northwind's support assistant."),
                                ChatMessage(role: .user, content: "How do I reset my password?")]

    private func key(model: String = "small", _ messages: [ChatMessage]? = nil, maxTokens: Int? = 512,
                     temperature: Double? = 0.2) -> ResponseCacheKey {
        ResponseCacheKey(model: model, messages: messages ?? conversation, maxOutputTokens: maxTokens, temperature: temperature)
    }

    private func replacingLast(with content: String, role: ChatRole = .user) -> [ChatMessage] {
        conversation.dropLast() + [ChatMessage(role: role, content: content)]
    }

    func testIdenticalRequestsGiveEqualKeys() {
        XCTAssertEqual(key(), key())
        XCTAssertEqual(key().digest, key().digest)
        XCTAssertEqual(Set([key(), key()]).count, 1)
    }

    func testWhitespaceDifferencesAreTheSameRequest() {
        XCTAssertEqual(key(replacingLast(with: "  How do I\treset my\n\npassword? ")), key())
        XCTAssertEqual(key(replacingLast(with: "How\u{00A0}do I reset my password?")), key(), "a no-break space is whitespace")
        XCTAssertEqual(ResponseCacheKey.normalize(" a \n\t b  "), "a b")
    }

    func testAnyOtherDifferenceIsAnotherRequest() {
        let base = key()
        let others = [
            key(model: "large"),
            key(maxTokens: 256),
            key(maxTokens: nil),
            key(temperature: 0.3),
            key(temperature: nil),
            key(replacingLast(with: "how do I reset my password?")),
            key(replacingLast(with: "How do I reset my password")),
            key(replacingLast(with: "How do I reset my password?", role: .assistant)),
            key([ChatMessage(role: .system, content: "You are Ledgerly's support assistant."), conversation[1]]),
            key([conversation[1]]),
            key(conversation + [ChatMessage(role: .assistant, content: "")]),
        ]
        for other in others { XCTAssertNotEqual(other, base, other.canonical) }
        XCTAssertEqual(Set(others.map(\.digest)).count, others.count)
    }

    func testContentCannotImitateAMessageBoundary() {
        let two = key([ChatMessage(role: .user, content: "a"), ChatMessage(role: .user, content: "b")])
        let forged = key([ChatMessage(role: .user, content: "a\nuser:1:b")])
        XCTAssertNotEqual(two, forged)
        XCTAssertNotEqual(key(model: "a\nmax_tokens:3:512"), key(model: "a"))
    }

    func testCanonicalFormIsStable() {
        // A shared store depends on this form: change formatVersion when it changes.
        let key = ResponseCacheKey(model: "small", messages: [ChatMessage(role: .system, content: "Be brief."),
                                                              ChatMessage(role: .user, content: " Hi  there ")],
                                   maxOutputTokens: nil, temperature: 0)
        XCTAssertEqual(key.canonical, """
        chat-gateway.response-cache.v1
        model:5:small
        max_tokens:7:default
        temperature:3:0.0
        system:9:Be brief.
        user:8:Hi there

        """)
        XCTAssertEqual(ResponseCacheKey(model: "small", messages: [], maxOutputTokens: nil, temperature: -0.0),
                       ResponseCacheKey(model: "small", messages: [], maxOutputTokens: nil, temperature: 0.0))
    }

    func testDigestIsFNV1a64() {
        // Published FNV-1a 64-bit test vectors.
        XCTAssertEqual(ResponseCacheKey.fnv1a(""), 0xcbf2_9ce4_8422_2325)
        XCTAssertEqual(ResponseCacheKey.fnv1a("a"), 0xaf63_dc4c_8601_ec8c)
        XCTAssertEqual(ResponseCacheKey.fnv1a("foobar"), 0x8594_4171_f739_67e8)
        let key = key()
        XCTAssertEqual(key.digest, ResponseCacheKey.fnv1a(key.canonical))
    }

    func testDigestHexIsSixteenLowercaseDigits() {
        XCTAssertEqual(ResponseCacheKey.hex(0xabc), "0000000000000abc")
        XCTAssertEqual(ResponseCacheKey.hex(.max), "ffffffffffffffff")
        XCTAssertEqual(key().digestHex, ResponseCacheKey.hex(key().digest))
        XCTAssertEqual(key().description, "small#\(key().digestHex)")
    }
}
