import RedisTestSupport
import GatewayRedis
import XCTest

/// `RedisEndpoint(url:)`: every accepted form, and a clear error for each kind of bad URL.
final class RedisEndpointTests: XCTestCase {
    func testParsesEveryURLForm() throws {
        XCTAssertEqual(try RedisEndpoint(url: "redis://localhost"),
                       RedisEndpoint(address: .tcp(host: "localhost", port: 6379)))
        XCTAssertEqual(try RedisEndpoint(url: "redis://cache.internal:6380/2"),
                       RedisEndpoint(address: .tcp(host: "cache.internal", port: 6380), database: 2))
        XCTAssertEqual(try RedisEndpoint(url: "redis://:s3cret@10.0.0.5:6379/0"),
                       RedisEndpoint(address: .tcp(host: "10.0.0.5", port: 6379), password: "s3cret"))
        XCTAssertEqual(try RedisEndpoint(url: "redis://gateway:p%40ss%2Fw0rd@host:7000/15"),
                       RedisEndpoint(address: .tcp(host: "host", port: 7000), username: "gateway",
                                     password: "p@ss/w0rd", database: 15))
        XCTAssertEqual(try RedisEndpoint(url: "redis://:a@b@host").password, "a@b", "the last @ ends the login")
        XCTAssertEqual(try RedisEndpoint(url: "redis://[::1]:6390").address, .tcp(host: "::1", port: 6390))
        XCTAssertEqual(try RedisEndpoint(url: "redis://[::1]").address, .tcp(host: "::1", port: 6379))
        XCTAssertEqual(try RedisEndpoint(url: "REDIS://Host/"),
                       RedisEndpoint(address: .tcp(host: "Host", port: 6379)), "scheme in any case, empty path is db 0")
        XCTAssertEqual(try RedisEndpoint(url: "unix:///run/redis/redis.sock"),
                       RedisEndpoint(address: .unixSocket(path: "/run/redis/redis.sock")))
    }

    func testRejectsBadURLsWithTheReason() {
        let cases: [(String, RedisEndpointError)] = [
            ("localhost:6379", .unsupportedScheme("")),
            ("http://host", .unsupportedScheme("http")),
            ("rediss://host:6380", .tlsNotSupported),
            ("redis://", .missingHost),
            ("redis://:pw@/1", .missingHost),
            ("redis://[::1", .missingHost),
            ("redis://host:", .invalidPort("")),
            ("redis://host:0", .invalidPort("0")),
            ("redis://host:65536", .invalidPort("65536")),
            ("redis://host:+80", .invalidPort("+80")),
            ("redis://host:http", .invalidPort("http")),
            ("redis://[::1]6379", .invalidPort("6379")),
            ("redis://host/x", .invalidDatabase("x")),
            ("redis://host/-1", .invalidDatabase("-1")),
            ("redis://host/1/2", .invalidDatabase("1/2")),
            ("redis://user@host", .usernameWithoutPassword),
            ("redis://:%zz@host", .invalidPercentEncoding),
            ("redis://host?db=1", .unexpectedQuery),
            ("unix://", .missingSocketPath),
            ("unix://relative.sock", .missingSocketPath),
        ]
        for (url, expected) in cases {
            XCTAssertThrowsError(try RedisEndpoint(url: url), url) { error in
                XCTAssertEqual(error as? RedisEndpointError, expected, url)
            }
        }
    }

    func testDescriptionsNeverShowThePassword() throws {
        let endpoint = try RedisEndpoint(url: "redis://gateway:hunter2@host:7000/3")
        XCTAssertEqual(endpoint.description, "redis://gateway:***@host:7000/3")
        XCTAssertEqual(try RedisEndpoint(url: "redis://[::1]:7000").description, "redis://[::1]:7000")
        XCTAssertThrowsError(try RedisEndpoint(url: "redis://gateway:hunter2@host:99999")) { error in
            XCTAssertFalse("\(error)".contains("hunter2"), "\(error)")
            XCTAssertTrue("\(error)".contains("99999"), "\(error)")
        }
    }
}
