/// Why `WebSocketServer.start()` failed.
public enum WebSocketServerError: Error, Equatable, Sendable {
    /// `start()` was called on a server that was already started (or already stopped; servers are one-shot).
    case alreadyStarted
    /// The options cannot work; the string says which one and why.
    case invalidOptions(String)
    /// `lws_create_context` failed: the address is in use or not local, or the event-loop plugin is missing.
    /// lws logs the precise cause to stderr.
    case contextCreationFailed(host: String, port: Int, eventLoop: WebSocketEventLoop)
    /// The service thread could not be created (`pthread_create` error number).
    case threadStartFailed(Int32)
}
