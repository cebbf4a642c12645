/// Where a Redis server is and how to log in to it, usually parsed from a URL:
///
/// - `redis://host[:port][/db]`, port 6379 and database 0 by default
/// - `redis://:password@host:port/db` (password only, `requirepass`)
/// - `redis://user:password@host:port/db` (an ACL user, Redis 6+)
/// - `redis://[::1]:6379` (IPv6 literal in brackets)
/// - `unix:///path/to/redis.sock`
///
/// The user and password are percent-decoded, so `%40` stands for `@`. `rediss://` is refused:
/// hiredis 0.14 has no TLS.
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    public enum Address: Sendable, Hashable {
        case tcp(host: String, port: Int)
        case unixSocket(path: String)
    }

    public static let defaultPort = 6379

    public var address: Address
    /// Sent as `AUTH username password` when set, else the password alone is sent.
    public var username: String?
    /// Sent with `AUTH` after every connect when set.
    public var password: String?
    /// Selected with `SELECT` after every connect when not 0.
    public var database: Int

    public init(address: Address, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.address = address
        self.username = username
        self.password = password
        self.database = database
    }

    public init(url: String) throws(RedisEndpointError) {
        self = try RedisURLParser.parse(url)
    }

    /// The endpoint as a URL with the password masked, for logs.
    public var description: String {
        var login = ""
        if password != nil { login = "\(username ?? ""):***@" }
        switch address {
        case let .tcp(host, port):
            let shownHost = host.contains(":") ? "[\(host)]" : host
            return "redis://\(login)\(shownHost):\(port)" + (database == 0 ? "" : "/\(database)")
        case let .unixSocket(path):
            return "unix://\(login)\(path)" + (database == 0 ? "" : " db \(database)")
        }
    }
}
