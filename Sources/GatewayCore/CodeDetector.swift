/// Whether a chat message carries code, for routing (`has_code`): a cheap line heuristic, not a
/// parser. It leans towards prose: a false "code" only sends a turn to a bigger model, but the
/// common support phrasings ("Settings -> Billing", "item(s)", "UPDATE: still broken") must not
/// count, or every long complaint would be routed as code.
///
/// A message has code when it has a fenced block (a line starting with ``` or ~~~) or a line of
/// a stack trace or error report (below: machines write those, people do not), or when at least
/// two of its lines, or at least half of its non-empty lines, look like code. A line, with
/// surrounding whitespace trimmed, looks like code when it
/// - holds an inline code span (a pair of backticks);
/// - ends with `;`, `{` or `}`;
/// - starts like a statement or a shell command: `def `, `func `, `function `, `fn `, `const `,
///   `var `, `#include`, `#!`, `<?php`, `$ `, `>>> `, `SELECT `, `INSERT INTO `, `DELETE FROM `,
///   `CREATE TABLE `, `curl `, `npm `, `pip `, `git `, `docker `, `kubectl `, `sudo `;
/// - holds an operator prose does not use: `==`, `!=`, `&&`, `||`, `::`, `+=`, `()`, `</`, `/>`;
/// - is an assignment (`name = value`, `obj.field=value`), a JSON member (`"key": value`), an
///   import (`import os`, `from a import b`), a call alone on its line (`print(x)`), or makes a
///   method call (`name.method(`);
/// - reads like a stack trace or error report: `at pkg.Class.method(File.java:12)` (a frame with
///   a file:line), `File "x.py", line 3`, `Traceback (most recent call last):`, `TypeError: …`,
///   `java.lang.IllegalStateException` (a bare `Error:` is prose), `HTTP/1.1 401 …`, a compiler
///   diagnostic (`error TS2345: …`, `error[E0382]: …`) or a bare location (`src/app.ts:14:79`).
public enum CodeDetector {
    public static func looksLikeCode(_ text: String) -> Bool {
        var codeLines = 0
        var nonEmptyLines = 0
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = trimmed(rawLine)
            guard !line.isEmpty else { continue }
            if line.hasPrefix("```") || line.hasPrefix("~~~") || isErrorReport(line) { return true }
            nonEmptyLines += 1
            if lineLooksLikeCode(line) {
                codeLines += 1
                if codeLines >= 2 { return true }
            }
        }
        return codeLines > 0 && codeLines * 2 >= nonEmptyLines
    }

    static let statementPrefixes = ["def ", "func ", "function ", "fn ", "const ", "var ", "#include", "#!", "<?php",
                                    "$ ", ">>> ", "SELECT ", "INSERT INTO ", "DELETE FROM ", "CREATE TABLE ",
                                    "curl ", "npm ", "pip ", "git ", "docker ", "kubectl ", "sudo "]
    static let codeOperators = ["==", "!=", "&&", "||", "::", "+=", "()", "</", "/>"]

    /// `line` is trimmed and not empty.
    static func lineLooksLikeCode(_ line: Substring) -> Bool {
        if line.count(where: { $0 == "`" }) >= 2 { return true }
        if let last = line.last, last == ";" || last == "{" || last == "}" { return true }
        if statementPrefixes.contains(where: { line.hasPrefix($0) }) { return true }
        if codeOperators.contains(where: { line.contains($0) }) { return true }
        return isAssignment(line) || isJSONMember(line) || hasMethodCall(line) || isCallStatement(line)
            || isImport(line) || isErrorReport(line)
    }

    /// `print(resp.status_code)`: the whole line is one call, the name touching its parenthesis.
    static func isCallStatement(_ line: Substring) -> Bool {
        let name = line.prefix { isWordCharacter($0) || $0 == "." }
        guard name.first?.isLetter == true || name.first == "_" else { return false }
        return line.dropFirst(name.count).first == "(" && line.last == ")"
    }

    /// `import os`, `import numpy as np`, `from x.y import z`, `import x from 'y'`; not "import my contacts".
    static func isImport(_ line: Substring) -> Bool {
        let words = line.split(separator: " ")
        let isDottedName = { (word: Substring) in word.allSatisfy { isWordCharacter($0) || $0 == "." } }
        switch words.first {
        case "from": return words.count >= 4 && words[2] == "import" && isDottedName(words[1])
        case "import":
            if line.contains(" from '") || line.contains(" from \"") { return true }
            return (words.count == 2 && isDottedName(words[1])) || (words.count == 4 && words[2] == "as")
        default: return false
        }
    }

    /// `total = price * qty`, `config.retries=3`, `items[0] = x`: a dotted name, then `=` (not `==`).
    static func isAssignment(_ line: Substring) -> Bool {
        let name = line.prefix { isWordCharacter($0) || $0 == "." || $0 == "[" || $0 == "]" }
        guard let first = name.first, first.isLetter || first == "_" else { return false }
        var rest = line.dropFirst(name.count)
        rest = rest.drop { $0 == " " }
        guard rest.first == "=" else { return false }
        let value = rest.dropFirst()
        return value.first != "=" && !value.drop(while: { $0 == " " }).isEmpty
    }

    /// `"amount": 1000,` as in a pasted JSON body.
    static func isJSONMember(_ line: Substring) -> Bool {
        guard line.first == "\"", let close = line.dropFirst().firstIndex(of: "\"") else { return false }
        let afterKey = line[line.index(after: close)...].drop { $0 == " " }
        return afterKey.first == ":" && close > line.index(after: line.startIndex)
    }

    /// `requests.post(`, `console.log(`: a word, a dot, a word and an opening parenthesis.
    static func hasMethodCall(_ line: Substring) -> Bool {
        let characters = Array(line)
        var index = 0
        while index < characters.count {
            guard characters[index] == "(" else { index += 1; continue }
            var start = index
            while start > 0, isWordCharacter(characters[start - 1]) { start -= 1 }
            if start < index, start > 1, characters[start - 1] == ".", isWordCharacter(characters[start - 2]) { return true }
            index += 1
        }
        return false
    }

    static func isErrorReport(_ line: Substring) -> Bool {
        if line.hasPrefix("Traceback (most recent call last)") || line.hasPrefix("File \"") || line.hasPrefix("HTTP/1.")
            || line.hasPrefix("HTTP/2 ") { return true }
        if line.hasPrefix("at "), line.last == ")", let open = line.lastIndex(of: "("),
           hasFileLine(line[line.index(after: open)..<line.index(before: line.endIndex)]) { return true }
        if !line.contains(" "), hasFileLine(line) { return true }
        if isCompilerDiagnostic(line) { return true }
        // A compound first word: `TypeError`, `java.lang.NullPointerException`; a bare "Error:" is prose.
        let head = line.prefix { isWordCharacter($0) || $0 == "." }
        guard head.first?.isLetter == true else { return false }
        return (head.hasSuffix("Error") && head.count > 5) || (head.hasSuffix("Exception") && head.count > 9)
    }

    /// `error TS2345: …`, `error[E0382]: …`, `warning C4996: …`: a compiler's message code.
    static func isCompilerDiagnostic(_ line: Substring) -> Bool {
        for severity in ["error", "warning"] where line.hasPrefix(severity) {
            let rest = line.dropFirst(severity.count)
            let code = rest.drop { $0 == " " || $0 == "[" }.prefix { isWordCharacter($0) }
            guard rest.first == " " || rest.first == "[", code.contains(where: \.isNumber), code.contains(where: \.isLetter) else { continue }
            return rest.drop { $0 == " " || $0 == "[" }.dropFirst(code.count).drop { $0 == "]" }.first == ":"
        }
        return false
    }

    /// `Client.java:88`, `/app/index.js:10:5`: a path with a dot or slash, a colon, then digits.
    static func hasFileLine(_ location: Substring) -> Bool {
        location.indices.contains { index in
            guard location[index] == ":" else { return false }
            let path = location[..<index]
            return (path.contains(".") || path.contains("/")) && location[location.index(after: index)...].first?.isNumber == true
        }
    }

    static func isWordCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || character == "_"
    }

    static func trimmed(_ line: Substring) -> Substring {
        let start = line.drop { $0.isWhitespace }
        return start.dropLast(start.reversed().prefix { $0.isWhitespace }.count)
    }
}
