/// One published message as a `RedisSubscriber` receives it.
public struct RedisMessage: Sendable, Hashable {
    /// The channel it was published on.
    public let channel: String
    /// The subscribed pattern that matched `channel`, nil for a direct channel subscription.
    public let pattern: String?
    /// Exactly the bytes given to PUBLISH.
    public let payload: [UInt8]

    public init(channel: String, pattern: String? = nil, payload: [UInt8]) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }

    /// The payload as UTF-8 text (invalid sequences repaired).
    public var text: String { String(decoding: payload, as: UTF8.self) }
}
