import GatewayCore

/// A turn accepted into the worker pool: what to ask which model, and for whom.
struct TurnJob: Sendable {
    let session: String
    let turn: String
    /// The logical model the turn was routed to (`llm.models` key).
    let model: String
    let request: ChatRequest
    let user: String
    let tenant: String
    let queuedAt: Int
    /// Where a complete reply is stored in the response cache; nil when caching is off.
    let cacheKey: ResponseCacheKey?
    /// What admission took from the rate limits; the turn's end settles it (nil: nothing taken).
    var reservation: AdmissionReservation? = nil
}
