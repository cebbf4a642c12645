import GatewayCore

/// A turn accepted into the worker pool: what to ask which model.
struct TurnJob: Sendable {
    let session: String
    let turn: String
    let modelName: String
    let request: ChatRequest
}
