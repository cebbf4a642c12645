import Foundation

/// The grammar of `RedisEndpoint(url:)`, kept apart so the endpoint type stays a plain value.
enum RedisURLParser {
    static func parse(_ url: String) throws(RedisEndpointError) -> RedisEndpoint {
        guard let schemeEnd = url.range(of: "://") else { throw .unsupportedScheme("") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let rest = url[schemeEnd.upperBound...]
        guard !rest.contains("?"), !rest.contains("#") else { throw .unexpectedQuery }
        switch scheme {
        case "redis": return try parseTCP(rest)
        case "unix": return try parseUnix(rest)
        case "rediss": throw .tlsNotSupported
        default: throw .unsupportedScheme(scheme)
        }
    }

    private static func parseTCP(_ rest: Substring) throws(RedisEndpointError) -> RedisEndpoint {
        let authority = rest.prefix { $0 != "/" }
        let path = rest[authority.endIndex...]
        // The last "@" ends the login, so a password with an unescaped "@" still parses.
        var hostAndPort = authority
        var login: (username: String?, password: String)?
        if let at = authority.lastIndex(of: "@") {
            login = try parseLogin(authority[..<at])
            hostAndPort = authority[authority.index(after: at)...]
        }
        let (host, port) = try parseHostAndPort(hostAndPort)
        return RedisEndpoint(address: .tcp(host: host, port: port), username: login?.username,
                             password: login?.password, database: try parseDatabase(path))
    }

    private static func parseUnix(_ rest: Substring) throws(RedisEndpointError) -> RedisEndpoint {
        guard rest.hasPrefix("/"), rest.count > 1 else { throw .missingSocketPath }
        return RedisEndpoint(address: .unixSocket(path: try decode(rest)))
    }

    /// `user:password`, `:password`; a bare `user` is refused rather than silently not logging in.
    private static func parseLogin(_ login: Substring) throws(RedisEndpointError) -> (username: String?, password: String) {
        guard let colon = login.firstIndex(of: ":") else { throw .usernameWithoutPassword }
        let username = try decode(login[..<colon])
        let password = try decode(login[login.index(after: colon)...])
        return (username.isEmpty ? nil : username, password)
    }

    private static func parseHostAndPort(_ text: Substring) throws(RedisEndpointError) -> (String, Int) {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .missingHost }
            host = text[text.index(after: text.startIndex)..<close]
            let afterBracket = text[text.index(after: close)...]
            if !afterBracket.isEmpty {
                guard afterBracket.hasPrefix(":") else { throw .invalidPort(String(afterBracket)) }
                portText = afterBracket.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = text
        }
        guard !host.isEmpty else { throw .missingHost }
        guard let portText else { return (String(host), RedisEndpoint.defaultPort) }
        guard portText.allSatisfy(\.isASCIIDigit), let port = Int(portText), (1...65_535).contains(port) else {
            throw .invalidPort(String(portText))
        }
        return (String(host), port)
    }

    private static func parseDatabase(_ path: Substring) throws(RedisEndpointError) -> Int {
        let digits = path.drop { $0 == "/" }
        guard !digits.isEmpty else { return 0 }
        guard path.hasPrefix("/"), !path.hasPrefix("//"), digits.allSatisfy(\.isASCIIDigit),
              let database = Int(digits), database >= 0 else {
            throw .invalidDatabase(String(path.dropFirst()))
        }
        return database
    }

    private static func decode(_ text: Substring) throws(RedisEndpointError) -> String {
        guard let decoded = String(text).removingPercentEncoding else { throw .invalidPercentEncoding }
        return decoded
    }
}

private extension Character {
    /// `Int("+3")` would accept the sign and `isNumber` accepts non-ASCII digits: ports and
    /// database numbers are plain 0-9.
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
