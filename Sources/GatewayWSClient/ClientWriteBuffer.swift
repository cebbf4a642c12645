import CGatewayShims.WebSockets

/// The scratch buffer every outgoing frame is copied into, with the `LWS_PRE` bytes of headroom
/// lws_write needs in front (and room for lws to mask the payload in place, as a client must).
/// Grows for a large frame and stays grown: a load generator sends a few sizes. Service thread only.
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
        if bytes.count > capacity {
            storage.deallocate()
            capacity = bytes.count
            storage = .allocate(byteCount: Self.headroom + capacity, alignment: 16)
        }
        let payload = (storage + Self.headroom).assumingMemoryBound(to: UInt8.self)
        bytes.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { payload.update(from: base, count: source.count) }
        }
        return payload
    }
}
