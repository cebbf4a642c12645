/// What a `RedisSubscriber` reports, in order, on its own thread.
public enum RedisSubscriberEvent: Sendable, Hashable {
    case message(RedisMessage)
    /// Redis confirmed a subscription: messages published from now on arrive.
    case subscribed(RedisSubscription)
    /// Redis confirmed an unsubscription.
    case unsubscribed(RedisSubscription)
    /// After a reconnect, every subscription is confirmed again. Messages published while the
    /// connection was down are lost (pub/sub keeps nothing): re-read whatever state they carried.
    case resubscribed
    case stateChanged(RedisConnectionState)
    /// An error reply to a subscription command (e.g. an ACL refusing a channel); the
    /// connection stays up.
    case serverError(String)
}
