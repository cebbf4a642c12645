import XCTest
@testable import GatewayCore

final class KeywordMatcherTests: XCTestCase {
    private func matches(_ keywords: [String], _ text: String) -> Bool { KeywordMatcher(keywords: keywords).matches(text) }

    func testWordsMatchWholeWordsIgnoringCase() {
        XCTAssertTrue(matches(["refund"], "Refund please"))
        XCTAssertTrue(matches(["refund"], "I want a REFUND."))
        XCTAssertTrue(matches(["refund"], "(refund)"))
        XCTAssertFalse(matches(["refund"], "it was refunded"))
        XCTAssertFalse(matches(["fund"], "refund"))
        XCTAssertFalse(matches(["refund"], "refund_id"), "underscore joins words as in identifiers")
    }

    func testPhrasesMatchAcrossAnyWhitespace() {
        XCTAssertTrue(matches(["reset password"], "how do I Reset\n   password?"))
        XCTAssertTrue(matches(["reset   password"], "reset password"))
        XCTAssertFalse(matches(["reset password"], "reset my password"))
    }

    func testBoundariesAreCheckedOnlyAtWordCharacters() {
        XCTAssertTrue(matches(["c++"], "is the SDK available for C++?"))
        XCTAssertTrue(matches([".env"], "my app.env file"), "a keyword starting with punctuation may follow a word")
        XCTAssertTrue(matches(["#order"], "see #order-123"))
    }

    func testTrailingStarMatchesWordPrefixes() {
        XCTAssertTrue(matches(["refund*"], "it was refunded"))
        XCTAssertTrue(matches(["refund*"], "Refunds?"))
        XCTAssertFalse(matches(["refund*"], "nonrefundable"))
    }

    func testAnyKeywordAndTheFirstFoundIsReported() {
        let matcher = KeywordMatcher(keywords: ["lawyer", "chargeback", "refund"])
        XCTAssertEqual(matcher.firstMatch(in: KeywordMatcher.searchable("A refund or a chargeback")), "chargeback")
        XCTAssertNil(matcher.firstMatch(in: KeywordMatcher.searchable("where is my parcel")))
    }

    func testUnicodeCaseAndLetters() {
        XCTAssertTrue(matches(["rückerstattung"], "Ich möchte eine RÜCKERSTATTUNG"))
        XCTAssertFalse(matches(["café"], "cafés"))
        XCTAssertTrue(matches(["café"], "le Café!"))
    }

    func testSearchableFormCollapsesAndTrimsWhitespace() {
        XCTAssertEqual(String(KeywordMatcher.searchable("  Hello \t\n World  ")), "hello world")
        XCTAssertEqual(KeywordMatcher.searchable(""), [])
    }

    func testEmptyKeywordsNeverMatch() {
        XCTAssertFalse(matches(["", "  ", "*"], "anything at all"))
        XCTAssertFalse(matches(["a long phrase that is longer"], "short"))
    }
}
