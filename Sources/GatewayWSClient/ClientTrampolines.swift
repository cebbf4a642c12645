@preconcurrency import Glibc
import CWebSockets

// C function pointers can only be made from top-level functions that capture nothing; these
// recover the Swift owner from lws's user pointers and forward.

/// The protocol callback of every client connection. The owner comes back from the context user
/// pointer (an unretained `ClientServiceLoop`, alive for as long as its service thread runs).
func lwsClientProtocolCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons,
                               _ user: UnsafeMutableRawPointer?, _ input: UnsafeMutableRawPointer?,
                               _ length: Int) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let owner = lws_context_user(context) else {
        return lws_callback_http_dummy(wsi, reason, user, input, length)
    }
    let loop = Unmanaged<ClientServiceLoop>.fromOpaque(owner).takeUnretainedValue()
    return loop.handle(wsi: wsi, reason: reason, user: user, input: input, length: length)
}

/// lws's warnings and errors go to stderr tagged "lws client" (lwsl_* are variadic: not callable).
func lwsClientLogEmit(_ level: Int32, _ line: UnsafePointer<CChar>?) {
    guard let line else { return }
    let tag = level & Int32(LLL_ERR) != 0 ? "E" : "W"
    let text = "lws client \(tag): \(String(cString: line))"
    _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
}

/// Whoever owns a `ClientTimer`: a service-thread object with one thing to do when it fires.
protocol ClientTimerOwner: AnyObject {
    func timerFired()
}

/// A one-shot lws timer calling its owner's `timerFired()`: an `lws_sorted_usec_list_t` with the
/// owner pointer stored after it, since the C callback only gets the sul.
struct ClientTimer {
    private let raw: UnsafeMutableRawPointer
    private static let ownerOffset = MemoryLayout<lws_sorted_usec_list_t>.stride

    init(owner: any ClientTimerOwner) {
        raw = .allocate(byteCount: Self.ownerOffset + MemoryLayout<UnsafeMutableRawPointer>.stride,
                        alignment: MemoryLayout<lws_sorted_usec_list_t>.alignment)
        raw.initializeMemory(as: lws_sorted_usec_list_t.self, repeating: lws_sorted_usec_list_t(), count: 1)
        raw.storeBytes(of: Unmanaged<AnyObject>.passUnretained(owner).toOpaque(), toByteOffset: Self.ownerOffset,
                       as: UnsafeMutableRawPointer.self)
    }

    private var sul: UnsafeMutablePointer<lws_sorted_usec_list_t> {
        raw.assumingMemoryBound(to: lws_sorted_usec_list_t.self)
    }

    /// Service thread only; re-scheduling moves the timer.
    func schedule(_ context: OpaquePointer, afterMicroseconds microseconds: Int64) {
        lws_sul_schedule(context, 0, sul, { sul in
            guard let sul else { return }
            let owner = UnsafeMutableRawPointer(sul).load(fromByteOffset: ClientTimer.ownerOffset,
                                                          as: UnsafeMutableRawPointer.self)
            (Unmanaged<AnyObject>.fromOpaque(owner).takeUnretainedValue() as? any ClientTimerOwner)?.timerFired()
        }, microseconds)
    }

    func cancel() { lws_sul_cancel(sul) }

    /// After the context is destroyed.
    func deallocate() { raw.deallocate() }
}
