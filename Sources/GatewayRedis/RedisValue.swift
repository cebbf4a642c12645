/// One reply from Redis (RESP2, the only protocol hiredis 0.14 speaks), with no C in it.
///
/// Bulk strings are kept as bytes because Redis values are binary-safe; `string` decodes them
/// as UTF-8 for the common case. A top-level error reply never reaches callers as `.error`:
/// `RedisClient` turns it into `RedisError.server`. `.error` appears only nested in an array,
/// e.g. one failed command in an `EXEC` result or a script's returned table.
public enum RedisValue: Sendable, Hashable {
    /// A null bulk string or null array (`GET` of a missing key, `EXEC` after a failed `WATCH`).
    case null
    case integer(Int64)
    case bulk([UInt8])
    /// A simple status line such as `OK` or `PONG`.
    case status(String)
    case error(String)
    case array([RedisValue])

    /// A bulk string from text (mostly for building expected values in tests).
    public static func bulk(_ text: String) -> RedisValue { .bulk(Array(text.utf8)) }

    /// The bulk string as UTF-8 text (invalid sequences repaired), or the status text.
    public var string: String? {
        switch self {
        case let .bulk(bytes): String(decoding: bytes, as: UTF8.self)
        case let .status(text): text
        default: nil
        }
    }

    public var bytes: [UInt8]? {
        if case let .bulk(bytes) = self { bytes } else { nil }
    }

    public var integer: Int64? {
        if case let .integer(value) = self { value } else { nil }
    }

    public var array: [RedisValue]? {
        if case let .array(elements) = self { elements } else { nil }
    }

    public var isNull: Bool { self == .null }
}
