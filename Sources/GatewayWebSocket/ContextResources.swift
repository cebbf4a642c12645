@preconcurrency import Glibc
import CWebSockets

/// The C memory lws keeps pointers into for the context's whole life: the protocol table, the
/// mount list, extra mime types, the idle policy and every string they name. Allocated once before
/// `lws_create_context`, freed by `release()` only after `lws_context_destroy` has returned.
/// Touched only on the service thread.
final class ContextResources {
    /// `[our protocol, zeroed terminator]`.
    let protocols: UnsafeMutablePointer<lws_protocols>
    /// Head of the mount list (static files at `/`, one callback mount per dynamic path), or nil.
    private(set) var mounts: UnsafeMutablePointer<lws_http_mount>?
    let retryPolicy: UnsafeMutablePointer<lws_retry_bo_t>
    let host: UnsafeMutablePointer<CChar>?
    let serverName: UnsafeMutablePointer<CChar>
    private var mountStorage: UnsafeMutableBufferPointer<lws_http_mount>?
    private var mimeStorage: UnsafeMutableBufferPointer<lws_protocol_vhost_options>?
    private var strings: [UnsafeMutablePointer<CChar>] = []

    /// Mime types lws does not know, plus a catch-all so unknown files are served instead of 415.
    private static let extraMimeTypes: [(String, String)] = [
        (".mjs", "text/javascript"), (".map", "application/json"), (".webp", "image/webp"),
        (".wasm", "application/wasm"), (".webmanifest", "application/manifest+json"),
        ("*", "application/octet-stream"),
    ]

    init(options: WebSocketServerOptions) {
        protocols = .allocate(capacity: 2)
        protocols.initialize(repeating: lws_protocols(), count: 2)
        retryPolicy = .allocate(capacity: 1)
        retryPolicy.initialize(to: lws_retry_bo_t())
        serverName = strdup("chat-gateway")
        host = options.host.isEmpty ? nil : strdup(options.host)

        // One protocol serves everything: HTTP always lands on protocols[0], and a WebSocket upgrade
        // that names no subprotocol is bound to protocols[0] too, so the chat subprotocol and "none"
        // share a callback (and `EVENT_WAIT_CANCELLED` arrives once per wake, not once per protocol).
        protocols[0].name = UnsafePointer(own(options.subprotocol))
        protocols[0].callback = lwsProtocolCallback
        protocols[0].per_session_data_size = 0  // our state hangs off the wsi's opaque pointer
        protocols[0].rx_buffer_size = options.receiveChunkBytes
        // Without this lws caps each send() at rx_buffer_size; a larger cap costs no memory.
        protocols[0].tx_packet_size = 128 * 1024

        if options.heartbeatSeconds > 0 {
            retryPolicy.pointee.secs_since_valid_ping = UInt16(options.heartbeatSeconds)
            retryPolicy.pointee.secs_since_valid_hangup = UInt16(options.hangupSeconds)
        }  // else both stay 0, which lws reads as "no idle policy" (instead of its 300 s default)

        buildMounts(options)
    }

    private func buildMounts(_ options: WebSocketServerOptions) {
        var specs: [(path: String, origin: String, kind: UInt8, def: String?)] = []
        if let root = options.staticRoot {
            specs.append(("/", root, UInt8(LWSMPRO_FILE.rawValue), "index.html"))
        }
        for path in options.dynamicPaths {
            // A callback mount beats the "/" file mount (longest match) and hands the request to us.
            specs.append((path, options.subprotocol, UInt8(LWSMPRO_CALLBACK.rawValue), nil))
        }
        guard !specs.isEmpty else { return }

        let mime = UnsafeMutableBufferPointer<lws_protocol_vhost_options>.allocate(
            capacity: Self.extraMimeTypes.count)
        for (index, (suffix, type)) in Self.extraMimeTypes.enumerated() {
            var entry = lws_protocol_vhost_options()
            entry.name = UnsafePointer(own(suffix))
            entry.value = UnsafePointer(own(type))
            entry.next = index + 1 < mime.count ? UnsafePointer(mime.baseAddress! + index + 1) : nil
            mime.initializeElement(at: index, to: entry)
        }
        mimeStorage = mime

        let storage = UnsafeMutableBufferPointer<lws_http_mount>.allocate(capacity: specs.count)
        for (index, spec) in specs.enumerated() {
            var mount = lws_http_mount()
            mount.mountpoint = UnsafePointer(own(spec.path))
            mount.mountpoint_len = UInt8(clamping: spec.path.utf8.count)
            mount.origin = UnsafePointer(own(spec.origin))
            mount.def = spec.def.map { UnsafePointer(own($0)) }
            mount.origin_protocol = spec.kind
            mount.extra_mimetypes = UnsafePointer(mime.baseAddress!)
            mount.mount_next = index + 1 < specs.count ? UnsafePointer(storage.baseAddress! + index + 1) : nil
            storage.initializeElement(at: index, to: mount)
        }
        mountStorage = storage
        mounts = storage.baseAddress
    }

    /// A C copy of `string` that lives until `release()`.
    private func own(_ string: String) -> UnsafeMutablePointer<CChar> {
        let copy = strdup(string)!
        strings.append(copy)
        return copy
    }

    /// Frees everything. Only after `lws_context_destroy` has returned.
    func release() {
        protocols.deinitialize(count: 2)
        protocols.deallocate()
        retryPolicy.deinitialize(count: 1)
        retryPolicy.deallocate()
        mountStorage?.deallocate()
        mimeStorage?.deallocate()
        mountStorage = nil
        mimeStorage = nil
        mounts = nil
        for string in strings { free(string) }
        strings = []
        free(serverName)
        if let host { free(host) }
    }
}
