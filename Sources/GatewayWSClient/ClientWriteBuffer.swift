import CGatewayShims.WebSockets

/// The scratch buffer every outgoing frame is copied into, with the `LWS_PRE` bytes of headroom
/// lws_write needs in front (and room for lws to mask the payload in place, as a client must).
/// Grows for a large frame and stays grown: a load generator sends a few sizes. Service thread only
/// (of a client pool or a streaming HTTP server: each has its own).
struct ClientWriteBuffer: ~Copyable {
    static let headroom = Int(cg_lws_pre())
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int

    init() {
        capacity = 4096
        storage = .allocate(byteCount: Self.headroom + capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// `bytes` copied after the headroom; returns the payload pointer lws_write takes.
    mutating func load(_ bytes: [UInt8]) -> UnsafeMutablePointer<UInt8> {
        let payload = reserve(bytes.count)
        bytes.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { payload.update(from: base, count: source.count) }
        }
        return payload
    }

    /// `count` writable bytes after the headroom (for lws's own header builders).
    mutating func reserve(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        if count > capacity {
            storage.deallocate()
            capacity = count
            storage = .allocate(byteCount: Self.headroom + capacity, alignment: 16)
        }
        return (storage + Self.headroom).assumingMemoryBound(to: UInt8.self)
    }
}
