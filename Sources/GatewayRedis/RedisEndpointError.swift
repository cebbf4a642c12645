/// Why a Redis URL was refused. The messages never repeat the URL, which may hold a password.
public enum RedisEndpointError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not `redis://` or `unix://`; holds the scheme found (empty when there was none).
    case unsupportedScheme(String)
    /// `rediss://`: hiredis 0.14 has no TLS.
    case tlsNotSupported
    case missingHost
    /// Not a number from 1 to 65535; holds the text found.
    case invalidPort(String)
    /// The path is not `/` followed by a non-negative number; holds the text found.
    case invalidDatabase(String)
    /// A `%` not followed by two hex digits, or bytes that are not UTF-8.
    case invalidPercentEncoding
    /// `redis://user@host`: Redis cannot log in with a user name alone.
    case usernameWithoutPassword
    /// `unix://` needs an absolute path: `unix:///run/redis.sock`.
    case missingSocketPath
    /// Query strings and fragments have no meaning here.
    case unexpectedQuery

    public var description: String {
        switch self {
        case let .unsupportedScheme(scheme):
            scheme.isEmpty ? "Redis URL has no scheme: expected redis:// or unix://"
                : "unsupported Redis URL scheme '\(scheme)': expected redis:// or unix://"
        case .tlsNotSupported: "rediss:// (TLS) is not supported: hiredis 0.14 has no TLS"
        case .missingHost: "Redis URL has no host"
        case let .invalidPort(text): "invalid port '\(text)' in Redis URL: expected 1-65535"
        case let .invalidDatabase(text): "invalid database '\(text)' in Redis URL: expected /0, /1, …"
        case .invalidPercentEncoding: "invalid percent-encoding in the Redis URL's user or password"
        case .usernameWithoutPassword: "Redis URL has a user name but no password: use redis://user:password@host"
        case .missingSocketPath: "unix:// Redis URL needs an absolute socket path: unix:///path/to/redis.sock"
        case .unexpectedQuery: "Redis URL must not have a query string or fragment"
        }
    }
}
