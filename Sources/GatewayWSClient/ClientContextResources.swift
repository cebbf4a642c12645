@preconcurrency import Glibc
import CWebSockets

/// The C memory lws points into for the context's whole life: the protocol table and the strings
/// every connect passes (lws may keep pointers to them while a connection is being set up).
/// Allocated once before the context, freed by `release()` after `lws_context_destroy` returned.
/// Service thread only.
final class ClientContextResources {
    /// The name connections bind to on our side, whatever subprotocol they offer.
    static let localProtocolName = "gateway-ws-client"

    /// `[our protocol, zeroed terminator]`.
    let protocols: UnsafeMutablePointer<lws_protocols>
    let address: UnsafeMutablePointer<CChar>
    let path: UnsafeMutablePointer<CChar>
    /// `Host:` and `Origin:` header value.
    let hostHeader: UnsafeMutablePointer<CChar>
    let localProtocol: UnsafeMutablePointer<CChar>
    let subprotocol: UnsafeMutablePointer<CChar>?
    let sourceAddress: UnsafeMutablePointer<CChar>?

    init(options: WebSocketClientOptions) {
        localProtocol = strdup(Self.localProtocolName)
        address = strdup(options.host)
        path = strdup(options.path)
        hostHeader = strdup("\(options.host):\(options.port)")
        subprotocol = options.subprotocol.map { strdup($0) }
        sourceAddress = options.sourceAddress.map { strdup($0) }

        protocols = .allocate(capacity: 2)
        protocols.initialize(repeating: lws_protocols(), count: 2)
        protocols[0].name = UnsafePointer(localProtocol)
        protocols[0].callback = lwsClientProtocolCallback
        protocols[0].per_session_data_size = 0  // our state is the slot the opaque pointer names
        protocols[0].rx_buffer_size = options.receiveChunkBytes
        protocols[0].tx_packet_size = 0
    }

    /// Only after `lws_context_destroy` has returned.
    func release() {
        protocols.deinitialize(count: 2)
        protocols.deallocate()
        for string in [localProtocol, address, path, hostHeader, subprotocol, sourceAddress] {
            if let string { free(string) }
        }
    }
}
