/// Appends compact JSON to a byte buffer. Server frames are written with this rather than
/// JSONEncoder because every session event is encoded on the per-token path (once, for all
/// subscribers), and the field order should read naturally (`type` first) in logs and tests.
public struct JSONWriter {
    public private(set) var bytes: [UInt8]
    private var needsComma = false

    public init(capacity: Int = 128) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray(_ key: String? = nil) {
        if let key { writeKey(key) } else { separate() }
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Starts a nested object as the value of `key`.
    public mutating func beginObject(_ key: String) {
        writeKey(key)
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    /// Writes `"key":` alone, for a value the caller splices in later (a frame template filled in by
    /// Redis); what follows is written as the next member, after a comma.
    public mutating func key(_ key: String) {
        writeKey(key)
        needsComma = true
    }

    public mutating func field(_ key: String, _ value: String) {
        writeKey(key)
        writeString(value)
        needsComma = true
    }

    public mutating func field(_ key: String, _ value: Int) {
        writeKey(key)
        writeInt(value)
        needsComma = true
    }

    public mutating func field(_ key: String, _ value: Bool) {
        writeKey(key)
        bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
        needsComma = true
    }

    /// A number; NaN and infinities (which JSON cannot carry) are written as null.
    public mutating func field(_ key: String, _ value: Double) {
        writeKey(key)
        bytes.append(contentsOf: value.isFinite ? Array(String(value).utf8) : Array("null".utf8))
        needsComma = true
    }

    public mutating func fieldIfPresent(_ key: String, _ value: Double?) {
        if let value { field(key, value) }
    }

    public mutating func fieldIfPresent(_ key: String, _ value: String?) {
        if let value { field(key, value) }
    }

    public mutating func fieldIfPresent(_ key: String, _ value: Int?) {
        if let value { field(key, value) }
    }

    /// A string element of an array.
    public mutating func element(_ value: String) {
        separate()
        writeString(value)
        needsComma = true
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func writeKey(_ key: String) {
        separate()
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func writeInt(_ value: Int) {
        if value == 0 { bytes.append(UInt8(ascii: "0")); return }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
        }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        withUnsafeBytes(of: &digits) { buffer in
            for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(buffer[index]) }
        }
    }

    /// Copies runs of bytes that need no escape in one append each: a byte-by-byte append checked
    /// uniqueness and capacity per byte, and strings are most of every frame (JSONWriter.writeString
    /// was the top user-space symbol of the fan-out profile).
    private mutating func writeString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
                writeEscape(byte)
                runStart = index + 1
            }
            if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func writeEscape(_ byte: UInt8) {
        switch byte {
        case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
        case 0x00..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                      hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
        default: bytes.append(UInt8(ascii: "\\")); bytes.append(byte)  // the quote and the backslash
        }
    }
}
