import CWebSockets
import GatewayCore

/// The HTTP half of the protocol callback: which WebSocket upgrades are allowed, and the dynamic
/// paths answered by the handler. Static files never come here (lws's file mount serves them).
/// Service thread only.
extension ServiceLoop {
    /// The kind of WebSocket endpoint at `path`, or nil if upgrades there are refused.
    func route(_ path: String) -> Connection.Kind? {
        if path == options.chatPath { return .chat }
        if options.echoEnabled && path == options.echoPath { return .echo }
        return nil
    }

    /// `LWS_CALLBACK_HTTP_CONFIRM_UPGRADE`, our chance to refuse an upgrade with a real HTTP status
    /// (lws itself would only drop the socket). Returning 1 means "answered, end the transaction".
    func confirmUpgrade(_ wsi: OpaquePointer, to protocolName: UnsafeMutableRawPointer?) -> Int32 {
        guard let protocolName,
              String(cString: protocolName.assumingMemoryBound(to: CChar.self)).lowercased() == "websocket"
        else { return 0 }
        guard let kind = route(path(of: wsi)) else { return refuse(wsi, status: 404) }
        if stopping { return refuse(wsi, status: 503) }
        if kind == .chat {
            // lws binds an offered name it knows, and a missing header to protocols[0] (ours too).
            // A list without our name would only get the socket dropped: say 400 instead.
            let offered = header(wsi, WSI_TOKEN_PROTOCOL).split(separator: ",")
                .map { $0.trimmingCharacters(in: " \t") }
            if !offered.isEmpty && !offered.contains(options.subprotocol) {
                return refuse(wsi, status: 400)
            }
        }
        return 0
    }

    /// `LWS_CALLBACK_HTTP`: a request that hit one of our callback mounts (the dynamic paths), or
    /// any request when there is no static root.
    func serveDynamic(_ wsi: OpaquePointer) -> Int32 {
        var uri: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let method = lws_http_get_uri_and_method(wsi, &uri, &length)
        let path = uri.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: Int(length)), as: UTF8.self) }
        guard let path, options.dynamicPaths.contains(path) else {
            return respond(wsi, HTTPResponse(status: 404, contentType: "text/plain", body: Array("not found\n".utf8)))
        }
        guard method == Int32(LWSHUMETH_GET) || method == Int32(LWSHUMETH_HEAD) else {
            _ = respond(wsi, HTTPResponse(status: 405, contentType: "text/plain", body: Array("GET only\n".utf8)))
            return -1  // do not try to read a request body we do not want
        }
        return respond(wsi, handler.httpResponse(forPath: path),
                       bodyless: method == Int32(LWSHUMETH_HEAD))
    }

    /// Headers and body in one write (HTTP/1 only: we serve no TLS, hence no h2), then back to
    /// keep-alive. `Cache-Control: no-store` because these answers describe the live process.
    private func respond(_ wsi: OpaquePointer, _ response: HTTPResponse, bodyless: Bool = false) -> Int32 {
        let body = bodyless ? [] : response.body
        let headerSpace = 512 + response.contentType.utf8.count
        let start = writeBuffer.payload(count: headerSpace + body.count)
        let end = start + headerSpace
        var cursor: UnsafeMutablePointer<UInt8>? = start
        let length = String(response.body.count)
        let failed = lws_add_http_header_status(wsi, UInt32(clamping: response.status), &cursor, end) != 0
            || addHeader(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, response.contentType, &cursor, end)
            || addHeader(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, length, &cursor, end)
            || addHeader(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, "no-store", &cursor, end)
            || lws_finalize_http_header(wsi, &cursor, end) != 0
        guard !failed, let headerEnd = cursor else { return -1 }
        body.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { headerEnd.update(from: base, count: source.count) }
        }
        let total = headerEnd - start + body.count
        let written = lws_write(wsi, start, total, LWS_WRITE_HTTP_FINAL)
        writeBuffer.trim()
        guard written >= 0 else { return -1 }
        return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
    }

    private func addHeader(_ wsi: OpaquePointer, _ token: lws_token_indexes, _ value: String,
                           _ cursor: inout UnsafeMutablePointer<UInt8>?, _ end: UnsafeMutablePointer<UInt8>) -> Bool {
        var bytes = Array(value.utf8)
        return lws_add_http_header_by_token(wsi, token, &bytes, Int32(bytes.count), &cursor, end) != 0
    }

    private func refuse(_ wsi: OpaquePointer, status: UInt32) -> Int32 {
        lws_return_http_status(wsi, status, nil) != 0 ? -1 : 1
    }

    /// The request path without its query (lws keeps the query in separate tokens).
    func path(of wsi: OpaquePointer) -> String {
        header(wsi, WSI_TOKEN_GET_URI)
    }

    func header(_ wsi: OpaquePointer, _ token: lws_token_indexes) -> String {
        let length = Int(lws_hdr_total_length(wsi, token))
        guard length > 0 else { return "" }
        var buffer = [CChar](repeating: 0, count: length + 1)
        guard lws_hdr_copy(wsi, &buffer, Int32(buffer.count), token) >= 0 else { return "" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
