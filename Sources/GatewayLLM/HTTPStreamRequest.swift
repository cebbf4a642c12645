/// One streaming HTTP/1.1 request for `HTTPStreamClient`.
public struct HTTPStreamRequest: Sendable {
    public enum Method: String, Sendable {
        case get = "GET"
        case post = "POST"
    }

    public var url: String
    public var method: Method
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Time allowed for DNS + TCP (+ TLS) connect; running out is `couldNotConnect`.
    public var connectTimeout: Duration
    /// Time allowed for the whole transfer, connect included; nil for none.
    public var totalTimeout: Duration?
    /// Abort when not a single byte arrives for this long (whole seconds, rounded up: curl's
    /// low-speed limit). Catches a dead upstream before `totalTimeout`; keep-alive comments count
    /// as bytes, so a stall behind keep-alives still needs `totalTimeout`. nil for none.
    public var stallTimeout: Duration?

    public init(url: String,
                method: Method = .post,
                headers: [(name: String, value: String)] = [],
                body: [UInt8] = [],
                connectTimeout: Duration = .seconds(10),
                totalTimeout: Duration? = .seconds(300),
                stallTimeout: Duration? = nil) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.stallTimeout = stallTimeout
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so a tiny positive timeout never becomes 0 (which curl reads as "none").
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        let millis = seconds * 1_000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(max(1, millis))
    }
}
