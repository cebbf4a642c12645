@preconcurrency import Glibc
import CWebSockets

// C function pointers can only be made from top-level functions that capture nothing; these
// recover the Swift owner from lws's user pointers and forward.

/// The protocol callback for every connection and every HTTP request. `self` comes back from the
/// context user pointer (an unretained `ServiceLoop`, kept alive by the service thread).
func lwsProtocolCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons,
                         _ user: UnsafeMutableRawPointer?, _ input: UnsafeMutableRawPointer?,
                         _ length: Int) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let owner = lws_context_user(context) else {
        return lws_callback_http_dummy(wsi, reason, user, input, length)
    }
    let loop = Unmanaged<ServiceLoop>.fromOpaque(owner).takeUnretainedValue()
    return loop.handle(wsi: wsi, reason: reason, user: user, input: input, length: length)
}

/// lws log lines (warn and error only) go to stderr with an "lws" tag. lws's own lwsl_* are
/// variadic and cannot be called from Swift; `lws_set_log_level` takes this emitter instead.
func lwsLogEmit(_ level: Int32, _ line: UnsafePointer<CChar>?) {
    guard let line else { return }
    let tag = level & Int32(LLL_ERR) != 0 ? "E" : "W"
    let text = "lws \(tag): \(String(cString: line))"
    // write(2) rather than fputs(stderr): no shared FILE state, and one line stays one write.
    _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
}

/// A one-shot lws timer that calls back into a `ServiceLoop`: an `lws_sorted_usec_list_t` with the
/// owner pointer stored right after it, so the C callback (which only gets the sul) can find it.
struct ServiceTimer {
    private let raw: UnsafeMutableRawPointer
    private static let ownerOffset = MemoryLayout<lws_sorted_usec_list_t>.stride

    init(owner: ServiceLoop) {
        raw = .allocate(byteCount: Self.ownerOffset + MemoryLayout<UnsafeMutableRawPointer>.stride,
                        alignment: MemoryLayout<lws_sorted_usec_list_t>.alignment)
        raw.initializeMemory(as: lws_sorted_usec_list_t.self, repeating: lws_sorted_usec_list_t(), count: 1)
        raw.storeBytes(of: Unmanaged.passUnretained(owner).toOpaque(), toByteOffset: Self.ownerOffset,
                       as: UnsafeMutableRawPointer.self)
    }

    var sul: UnsafeMutablePointer<lws_sorted_usec_list_t> {
        raw.assumingMemoryBound(to: lws_sorted_usec_list_t.self)
    }

    /// Fire `ServiceLoop.timerFired()` after `microseconds` (re-scheduling moves it). Service thread only.
    func schedule(_ context: OpaquePointer, afterMicroseconds microseconds: Int64) {
        lws_sul_schedule(context, 0, sul, { sul in
            guard let sul else { return }
            let owner = UnsafeMutableRawPointer(sul).load(fromByteOffset: ServiceTimer.ownerOffset,
                                                          as: UnsafeMutableRawPointer.self)
            Unmanaged<ServiceLoop>.fromOpaque(owner).takeUnretainedValue().timerFired()
        }, microseconds)
    }

    func cancel() { lws_sul_cancel(sul) }

    /// After the context is destroyed (lws no longer links the sul into its lists).
    func deallocate() { raw.deallocate() }
}
