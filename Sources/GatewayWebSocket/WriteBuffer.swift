import CGatewayShims.WebSockets

/// The one scratch buffer every outgoing frame or HTTP response is copied into, with the `LWS_PRE`
/// bytes of headroom lws_write needs in front. Reused across writes; shrinks back after an
/// unusually large frame so one 16 MiB echo does not pin 16 MiB. Service thread only.
struct WriteBuffer: ~Copyable {
    static let headroom = Int(cg_lws_pre())
    private static let normalCapacity = 64 * 1024
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int

    init() {
        capacity = Self.normalCapacity
        storage = .allocate(byteCount: Self.headroom + capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// A pointer to `count` writable payload bytes, with the headroom before it.
    mutating func payload(count: Int) -> UnsafeMutablePointer<UInt8> {
        if count > capacity { resize(to: count) }
        return (storage + Self.headroom).assumingMemoryBound(to: UInt8.self)
    }

    /// Called after each write: gives back memory taken for a frame far above the normal size.
    mutating func trim() {
        if capacity > 16 * Self.normalCapacity { resize(to: Self.normalCapacity) }
    }

    private mutating func resize(to newCapacity: Int) {
        storage.deallocate()
        capacity = newCapacity
        storage = .allocate(byteCount: Self.headroom + capacity, alignment: 16)
    }
}
