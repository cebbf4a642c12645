/// One planned connection as the service thread sees it. Lives in `ClientServiceLoop.slots`,
/// indexed by connection number; the wsi's opaque user pointer holds that number (plus one, so
/// that 0 stays "none"), which lets callbacks find the slot without a table lookup or a retain.
struct ClientSlot {
    enum Phase { case planned, connecting, open, finished }

    var phase = Phase.planned
    /// Valid from `lws_client_connect_via_info` until the slot is finished.
    var wsi: OpaquePointer?
    /// Frames waiting for WRITEABLE, oldest first (`sentCount` of them already written).
    var queue: [[UInt8]] = []
    var sentCount = 0
    /// Close with this code once `queue` is drained.
    var closeCode: UInt16?
    /// Our close frame went out: the close that follows was ours.
    var closeSent = false
    /// The code of the server's close frame, once one arrived.
    var serverCloseCode: UInt16?
    /// A message arriving in several pieces, joined here; empty (no capacity) between messages.
    var partial: [UInt8] = []

    var hasQueuedFrames: Bool { sentCount < queue.count }

    mutating func enqueue(_ frames: [[UInt8]]) {
        if !hasQueuedFrames {
            queue.removeAll(keepingCapacity: true)
            sentCount = 0
        }
        queue.append(contentsOf: frames)
    }
}
