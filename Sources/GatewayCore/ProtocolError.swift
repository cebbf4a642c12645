/// A client-facing error: sent as `{"type":"error","code":...}` and the connection stays up.
/// Codes are documented in docs/protocol.md.
public enum ProtocolError: Error, Sendable, Equatable {
    case badRequest(String)
    case notJoined(session: String)
    case busy(session: String)
    case overloaded
    case tooLarge(String)
    case internalError(String)
    /// The tenant's LLM spend for the day (UTC) reached its budget; `retryAfterMillis` is until midnight.
    case budgetExceeded(tenant: String, retryAfterMillis: Int)
    /// A shared backend (Redis) is down or did not answer; nothing was done. Retry shortly.
    case unavailable(String)
    /// A rate limit had no room; nothing was done. `retryAfterMillis` is when the same request would pass.
    case rateLimited(RateLimitName, retryAfterMillis: Int)

    public var code: String {
        switch self {
        case .badRequest: return "bad_request"
        case .notJoined: return "not_joined"
        case .busy: return "busy"
        case .overloaded: return "overloaded"
        case .tooLarge: return "too_large"
        case .internalError: return "internal"
        case .budgetExceeded: return "budget_exceeded"
        case .unavailable: return "unavailable"
        case .rateLimited: return "rate_limited"
        }
    }

    public var message: String {
        switch self {
        case .badRequest(let detail): return detail
        case .notJoined(let session): return "join session '\(session)' first"
        case .busy(let session): return "session '\(session)' has a turn in progress; wait for its turn.end or send stop"
        case .overloaded: return "all chat workers are busy and the queue is full; retry shortly"
        case .tooLarge(let detail): return detail
        case .internalError(let detail): return detail
        case .budgetExceeded(let tenant, _): return "tenant '\(tenant)' has spent its LLM budget for today (UTC)"
        case .unavailable(let detail): return detail
        case .rateLimited(let limit, _): return "rate limited: \(limit.refusal); retry after retry_after_ms"
        }
    }

    /// When the client may try again (sent as `retry_after_ms`), for refusals that pass with time.
    public var retryAfterMillis: Int? {
        switch self {
        case .budgetExceeded(_, let millis), .rateLimited(_, let millis): return millis
        default: return nil
        }
    }
}
