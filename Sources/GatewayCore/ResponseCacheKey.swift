/// Identifies a model request for the response cache: the logical model, the whole context as sent
/// (system prompt(s), history and the new message, with their roles) and the generation
/// parameters. Identical conversations give equal keys; any other difference gives another key.
///
/// Normalization: each message's content has every run of whitespace (spaces, tabs, newlines,
/// no-break spaces) collapsed to one space and is trimmed at both ends; nothing else changes (case,
/// punctuation and order matter). So "Reset  my password\n" and "Reset my password" share an entry,
/// and so would two code pastes differing only in indentation, a rare miss of precision accepted
/// for the common retyped question.
///
/// `canonical` is an injective text form of all of it (each field length-prefixed, so no content
/// can imitate a boundary), prefixed with a version so a stored format can change safely.
/// Equality compares `canonical`; hashing uses `digest`, computed once.
public struct ResponseCacheKey: Hashable, Sendable, CustomStringConvertible {
    public static let formatVersion = "chat-gateway.response-cache.v1"

    public let model: String
    public let canonical: String
    /// 64-bit FNV-1a of `canonical`'s UTF-8 bytes (offset basis 0xcbf29ce484222325, prime
    /// 0x100000001b3): stable across processes and machines, unlike `hashValue`, so a shared store
    /// (Redis) can key on `digestHex`. 64 bits make collisions unlikely but not impossible: a
    /// shared store should keep `canonical` with the entry and compare it on read.
    public let digest: UInt64

    /// `maxOutputTokens` and `temperature` as sent upstream; nil for the server's default.
    public init(model: String, messages: [ChatMessage], maxOutputTokens: Int?, temperature: Double?) {
        var text = Self.formatVersion + "\n"
        Self.appendField("model", model, to: &text)
        Self.appendField("max_tokens", maxOutputTokens.map(String.init) ?? "default", to: &text)
        Self.appendField("temperature", temperature.map { $0 == 0 ? "0.0" : String(describing: $0) } ?? "default", to: &text)
        for message in messages {
            Self.appendField(message.role.rawValue, Self.normalize(message.content), to: &text)
        }
        self.model = model
        canonical = text
        digest = Self.fnv1a(text)
    }

    /// 16 lowercase hex digits of `digest`.
    public var digestHex: String { Self.hex(digest) }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    public var description: String { "\(model)#\(digestHex)" }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.digest == rhs.digest && lhs.canonical == rhs.canonical
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(digest) }

    /// Whitespace runs collapsed to one space, ends trimmed.
    public static func normalize(_ content: String) -> String { content.collapsingWhitespace }

    public static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// `name:<UTF-8 length>:value\n`.
    private static func appendField(_ name: String, _ value: String, to text: inout String) {
        text += "\(name):\(value.utf8.count):\(value)\n"
    }
}
