import GatewayCore

/// One open WebSocket connection, as the service thread sees it. Owned by the connection table of
/// `ServiceLoop`; the wsi's opaque user pointer points at it (unretained) so callbacks find it
/// without a lookup. Touched only on the lws service thread.
final class Connection {
    enum Kind { case chat, echo }

    /// A close to send at the next WRITEABLE: ahead of any queued frame (a slow consumer must not
    /// wait behind its backlog), or once what is queued has gone out (shutdown: a client should
    /// still get the last events, such as a turn's end, before 1001).
    struct CloseRequest {
        var code: UInt16
        var reason: String
        var afterQueuedFrames = false
    }

    let id: ConnectionID
    let kind: Kind
    /// The lws connection handle; valid until `LWS_CALLBACK_CLOSED` / `WSI_DESTROY` removes us.
    let wsi: OpaquePointer
    var assembler = MessageAssembler()
    var closeRequest: CloseRequest?
    /// A refused message whose remaining fragments are read and dropped before its close goes out
    /// (see `ServiceLoop.refuse`), with the bytes dropped so far.
    var refusedMessage: (close: CloseRequest, discarded: Int)?
    /// Echo connections only: whole messages waiting to be sent back, oldest first.
    var echoQueue: [(bytes: [UInt8], binary: Bool)] = []
    var echoQueuedBytes = 0
    /// Echo connections only: reading is paused (lws rx flow control) until the queue drains.
    var readingPaused = false

    init(id: ConnectionID, kind: Kind, wsi: OpaquePointer) {
        self.id = id
        self.kind = kind
        self.wsi = wsi
    }
}
