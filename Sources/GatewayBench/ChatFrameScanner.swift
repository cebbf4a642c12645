/// What the load generator needs from a chat.v1 server frame, read without building a JSON tree:
/// the client shares two cores with the gateway it measures, so it must stay cheap. Only the
/// top-level keys below (and `usage.output_tokens`) are read; every other value is skipped over,
/// strings with their escapes and nested values by depth, so a text that quotes JSON cannot fool it.
struct ChatFrameFields: Equatable {
    enum Kind: Equatable {
        case welcome, joined, ack, error, snapshot, message, turnStart, turnDelta, turnEnd, other
    }

    var kind = Kind.other
    var seq: Int?
    var fromSeq: Int?
    /// Server append time, ms since the Unix epoch.
    var timestamp: Int?
    /// `error.code` of an error frame.
    var errorCode: String?
    /// `usage.output_tokens` of a `turn.end`.
    var outputTokens: Int?
    /// `finish` of a `turn.end` (stop, length, cancelled, error).
    var finish: String?
    /// Where the `text` value's contents lie in the frame (inside the quotes, escapes as sent).
    var text: Range<Int>?

    var isSessionEvent: Bool {
        switch kind {
        case .message, .turnStart, .turnDelta, .turnEnd: return true
        default: return false
        }
    }
}

enum ChatFrameScanner {
    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), colon = UInt8(ascii: ":")
    private static let comma = UInt8(ascii: ","), openBrace = UInt8(ascii: "{"), closeBrace = UInt8(ascii: "}")
    private static let openBracket = UInt8(ascii: "["), closeBracket = UInt8(ascii: "]"), at = UInt8(ascii: "@")

    /// nil when the frame is not a JSON object this scanner can walk.
    static func scan(_ bytes: UnsafeRawBufferPointer) -> ChatFrameFields? {
        var fields = ChatFrameFields()
        var index = 0
        let found = walkObject(bytes, &index) { key, valueStart, valueEnd in
            switch key {
            case "type": fields.kind = kind(ofString: bytes, valueStart, valueEnd)
            case "seq": fields.seq = integer(bytes, valueStart, valueEnd)
            case "from_seq": fields.fromSeq = integer(bytes, valueStart, valueEnd)
            case "ts": fields.timestamp = integer(bytes, valueStart, valueEnd)
            case "code": fields.errorCode = string(bytes, valueStart, valueEnd)
            case "finish": fields.finish = string(bytes, valueStart, valueEnd)
            case "text" where valueEnd - valueStart >= 2 && bytes[valueStart] == quote:
                fields.text = (valueStart + 1)..<(valueEnd - 1)
            case "usage":
                var inner = valueStart
                _ = walkObject(bytes, &inner) { innerKey, start, end in
                    if innerKey == "output_tokens" { fields.outputTokens = integer(bytes, start, end) }
                }
            default: break
            }
        }
        return found ? fields : nil
    }

    /// Calls `visit` with every token stamp in `range`: `@` then at least 13 digits (µs since the
    /// epoch, as the benchmark's upstream and nchan publisher write them into each token's text; a
    /// merged delta carries one per token it covers). Ordinary model text never has 13 digits
    /// after an `@`.
    static func stamps(in bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ visit: (Int) -> Void) {
        var index = range.lowerBound
        while index < range.upperBound {
            guard bytes[index] == at else {
                index += 1
                continue
            }
            index += 1
            var value = 0
            var digits = 0
            while index < range.upperBound, let digit = Optional(Int(bytes[index]) - 48), (0...9).contains(digit), digits < 18 {
                value = value * 10 + digit
                digits += 1
                index += 1
            }
            if digits >= 13 { visit(value) }
        }
    }

    /// Walks the object starting at `index` (after whitespace), calling `visit` with each key and
    /// its value's byte range. Keys are compared raw: ours have no escapes. False if malformed.
    private static func walkObject(_ bytes: UnsafeRawBufferPointer, _ index: inout Int,
                                   _ visit: (Substring, Int, Int) -> Void) -> Bool {
        skipSpace(bytes, &index)
        guard index < bytes.count, bytes[index] == openBrace else { return false }
        index += 1
        while true {
            skipSpace(bytes, &index)
            guard index < bytes.count else { return false }
            if bytes[index] == closeBrace { index += 1; return true }
            guard bytes[index] == quote else { return false }
            let keyStart = index + 1
            guard skipValue(bytes, &index) else { return false }
            let key = Substring(decoding: UnsafeRawBufferPointer(rebasing: bytes[keyStart..<(index - 1)]), as: UTF8.self)
            skipSpace(bytes, &index)
            guard index < bytes.count, bytes[index] == colon else { return false }
            index += 1
            skipSpace(bytes, &index)
            let valueStart = index
            guard skipValue(bytes, &index) else { return false }
            visit(key, valueStart, index)
            skipSpace(bytes, &index)
            guard index < bytes.count else { return false }
            if bytes[index] == comma { index += 1 }
        }
    }

    /// Moves past one value: a string, an object or array (by depth, strings skipped whole), or a
    /// scalar (up to the next delimiter).
    private static func skipValue(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) -> Bool {
        guard index < bytes.count else { return false }
        switch bytes[index] {
        case quote:
            index += 1
            while index < bytes.count {
                switch bytes[index] {
                case backslash: index += 2
                case quote: index += 1; return true
                default: index += 1
                }
            }
            return false
        case openBrace, openBracket:
            var depth = 0
            while index < bytes.count {
                switch bytes[index] {
                case quote:
                    guard skipValue(bytes, &index) else { return false }
                    continue
                case openBrace, openBracket: depth += 1
                case closeBrace, closeBracket:
                    depth -= 1
                    if depth == 0 { index += 1; return true }
                default: break
                }
                index += 1
            }
            return false
        default:
            while index < bytes.count, !isDelimiter(bytes[index]) { index += 1 }
            return true
        }
    }

    private static func isDelimiter(_ byte: UInt8) -> Bool {
        byte == comma || byte == closeBrace || byte == closeBracket || isSpace(byte)
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }

    private static func skipSpace(_ bytes: UnsafeRawBufferPointer, _ index: inout Int) {
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
    }

    /// A plain integer (no fraction or exponent), else nil.
    private static func integer(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int? {
        var index = start
        let negative = index < end && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < end else { return nil }
        var value = 0
        while index < end {
            let digit = Int(bytes[index]) - 48
            guard (0...9).contains(digit) else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            value = product + digit
            index += 1
        }
        return negative ? -value : value
    }

    /// A string value's raw contents (escapes left as they are: error codes have none).
    private static func string(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> String? {
        guard end - start >= 2, bytes[start] == quote, bytes[end - 1] == quote else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(start + 1)..<(end - 1)]), as: UTF8.self)
    }

    private static func kind(ofString bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> ChatFrameFields.Kind {
        switch string(bytes, start, end) {
        case "welcome": return .welcome
        case "joined": return .joined
        case "ack": return .ack
        case "error": return .error
        case "snapshot": return .snapshot
        case "message": return .message
        case "turn.start": return .turnStart
        case "turn.delta": return .turnDelta
        case "turn.end": return .turnEnd
        default: return .other
        }
    }
}
