import XCTest
@testable import GatewayCore

final class CodeDetectorTests: XCTestCase {
    func testFencedBlocksAreCode() {
        XCTAssertTrue(CodeDetector.looksLikeCode("Why does this fail?\n```\nhello world\n```"))
        XCTAssertTrue(CodeDetector.looksLikeCode("Long story first.\nMore prose.\nEven more.\n  ~~~python\nprint 1"))
    }

    func testUnfencedSnippetsAreCode() {
        let python = """
        My script gets a 401:
        import requests
        resp = requests.post(url, json=payload, headers={"Authorization": key})
        print(resp.status_code)
        """
        XCTAssertTrue(CodeDetector.looksLikeCode(python))
        let javascript = """
        this is what I have
        const client = new Ledgerly({ apiKey: process.env.KEY });
        client.invoices.list().then(r => console.log(r))
        """
        XCTAssertTrue(CodeDetector.looksLikeCode(javascript))
        let json = """
        The webhook body looks like this:
        {
          "event": "invoice.paid",
          "amount": 1200,
        }
        """
        XCTAssertTrue(CodeDetector.looksLikeCode(json))
    }

    func testStackTracesAndErrorReportsAreCode() {
        XCTAssertTrue(CodeDetector.looksLikeCode("""
        Traceback (most recent call last):
          File "sync.py", line 12, in <module>
        KeyError: 'customer_id'
        """))
        XCTAssertTrue(CodeDetector.looksLikeCode("""
        Exception in thread "main" java.lang.IllegalStateException: token expired
            at com.acme.billing.Client.refresh(Client.java:88)
        """))
        XCTAssertTrue(CodeDetector.looksLikeCode("TypeError: Cannot read properties of undefined (reading 'id')"))
        XCTAssertTrue(CodeDetector.looksLikeCode("HTTP/1.1 429 Too Many Requests"))
        XCTAssertTrue(CodeDetector.looksLikeCode("""
        After upgrading I get:

        error TS2345: Argument of type '{ customer: string; }' is not assignable to parameter of type 'InvoiceCreateParams'.
          src/billing/createInvoice.ts:14:79
        """))
    }

    func testOneLineCommandsAndInlineCodeAreCode() {
        XCTAssertTrue(CodeDetector.looksLikeCode("curl -H 'Authorization: Bearer sk_live' https://api.example.com/v1/invoices"))
        XCTAssertTrue(CodeDetector.looksLikeCode("How do I pass a date range to `invoices.list`?"))
        XCTAssertTrue(CodeDetector.looksLikeCode("SELECT * FROM orders WHERE status = 'open'"))
    }

    func testSupportProseIsNotCode() {
        let prose = [
            "How do I reset my password?",
            "I went to Settings -> Billing -> Invoices but the March invoice is missing.",
            "Please refund the item(s) I returned last week.",
            "UPDATE: still broken after the app update.",
            "Error: payment declined. I tried two cards; neither worked",
            "My order #A-10293 was supposed to arrive on 12/03 at 10:30, it's now 3 days late :(",
            "Thanks ;)",
            "The tracking page at https://parcelpoint.example/track?id=PP123 says \"in transit\" since Monday.",
            "I was charged $49.99 twice. This is the third time I write to you, and nobody answers. I want my money back!",
            "Hi,\nI ordered a tent.\nIt came with a broken pole.\nWhat do I do?",
        ]
        for text in prose { XCTAssertFalse(CodeDetector.looksLikeCode(text), text) }
    }

    func testOneCodeLineCountsOnlyInAShortMessage() {
        XCTAssertTrue(CodeDetector.looksLikeCode("npm install @ledgerly/sdk"))
        XCTAssertTrue(CodeDetector.looksLikeCode("It fails with\nTypeError: x is undefined"))
        XCTAssertTrue(CodeDetector.looksLikeCode("Hi.\nA question.\nAbout the SDK.\nThis line:\nlet x = 1;\nand then\nfoo.bar(x)\nfails."),
                      "two code lines are code however much prose surrounds them")
        XCTAssertFalse(CodeDetector.looksLikeCode("Hello, a question about the SDK.\nIt prints `x` and then\nsomething else. Any idea why?"))
        XCTAssertTrue(CodeDetector.looksLikeCode("Hello, a question about the SDK.\nTypeError: x is undefined\nAny idea why?\nThanks\nA."),
                      "one line of an error report is enough")
    }

    func testLineRules() {
        XCTAssertTrue(CodeDetector.isAssignment("total = price * qty"))
        XCTAssertTrue(CodeDetector.isAssignment("config.retries=3"))
        XCTAssertTrue(CodeDetector.isAssignment("items[0] = x"))
        XCTAssertFalse(CodeDetector.isAssignment("a == b"))
        XCTAssertFalse(CodeDetector.isAssignment("total ="))
        XCTAssertFalse(CodeDetector.isAssignment("= 3"))
        XCTAssertFalse(CodeDetector.isAssignment("My total is = 3 euros"))

        XCTAssertTrue(CodeDetector.isCallStatement("print(resp.status_code)"))
        XCTAssertTrue(CodeDetector.isCallStatement("client.sync()"))
        XCTAssertFalse(CodeDetector.isCallStatement("item(s) missing"))
        XCTAssertFalse(CodeDetector.isCallStatement("Thanks (again)"))

        XCTAssertTrue(CodeDetector.isImport("import os"))
        XCTAssertTrue(CodeDetector.isImport("import numpy as np"))
        XCTAssertTrue(CodeDetector.isImport("from ledgerly.client import Client"))
        XCTAssertTrue(CodeDetector.isImport("import Ledgerly from '@ledgerly/sdk'"))
        XCTAssertFalse(CodeDetector.isImport("import my contacts from gmail"))
        XCTAssertFalse(CodeDetector.isImport("import contacts?"))
        XCTAssertFalse(CodeDetector.isImport("from here on it fails"))

        XCTAssertTrue(CodeDetector.isJSONMember("\"amount\": 1200,"))
        XCTAssertFalse(CodeDetector.isJSONMember("\"\": 1"))
        XCTAssertFalse(CodeDetector.isJSONMember("\"quoted\" text: here"))

        XCTAssertTrue(CodeDetector.hasMethodCall("resp = requests.post(url)"))
        XCTAssertTrue(CodeDetector.hasMethodCall("console.log(x)"))
        XCTAssertFalse(CodeDetector.hasMethodCall("please refund the item(s)"))
        XCTAssertFalse(CodeDetector.hasMethodCall("It stopped. (Again.)"))
        XCTAssertFalse(CodeDetector.hasMethodCall(".(x)"))

        XCTAssertTrue(CodeDetector.isErrorReport("error TS2322: Type 'Date' is not assignable"))
        XCTAssertTrue(CodeDetector.isErrorReport("error[E0382]: borrow of moved value"))
        XCTAssertTrue(CodeDetector.isErrorReport("warning C4996: 'strcpy': unsafe"))
        XCTAssertFalse(CodeDetector.isErrorReport("error 404: page not found"), "a code needs letters and digits")
        XCTAssertFalse(CodeDetector.isErrorReport("errors everywhere: help"))
        XCTAssertTrue(CodeDetector.isErrorReport("src/billing/createInvoice.ts:14:79"))
        XCTAssertFalse(CodeDetector.isErrorReport("10:30"))
        XCTAssertTrue(CodeDetector.isErrorReport("ValueError: bad"))
        XCTAssertTrue(CodeDetector.isErrorReport("java.lang.NullPointerException"))
        XCTAssertFalse(CodeDetector.isErrorReport("Error: card declined"))
        XCTAssertFalse(CodeDetector.isErrorReport("Exception handling is your job"))
        XCTAssertTrue(CodeDetector.isErrorReport("at com.acme.Client.refresh(Client.java:88)"))
        XCTAssertTrue(CodeDetector.isErrorReport("at Object.<anonymous> (/app/index.js:10:5)"))
        XCTAssertFalse(CodeDetector.isErrorReport("at the store (downtown)"))
        XCTAssertFalse(CodeDetector.isErrorReport("at home (at 10:30)"), "a time is not a file:line")
        XCTAssertTrue(CodeDetector.isErrorReport("at process (node:internal/process/task_queues:95:5)"))
    }

    func testEmptyTextIsNotCode() {
        XCTAssertFalse(CodeDetector.looksLikeCode(""))
        XCTAssertFalse(CodeDetector.looksLikeCode("\n \n\t"))
    }
}
