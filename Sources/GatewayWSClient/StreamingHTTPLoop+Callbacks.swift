import CWebSockets

/// The lws protocol callback of a `StreamingHTTPServer`: request, body, head, writes, close.
/// Everything here runs on the service thread.
extension StreamingHTTPLoop {
    func handle(wsi: OpaquePointer, reason: lws_callback_reasons, user: UnsafeMutableRawPointer?,
                input: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            drainInbox()
            return 0
        case LWS_CALLBACK_HTTP:
            return requestLine(wsi, uri: input, length: length)
        case LWS_CALLBACK_HTTP_BODY:
            guard let id = streamID(of: wsi), let input else { return -1 }
            streams[id]!.body.append(contentsOf: UnsafeRawBufferPointer(start: input, count: length))
            guard streams[id]!.body.count <= options.maxBodyBytes else {
                return lws_return_http_status(wsi, 413, nil) != 0 ? -1 : 1
            }
            return 0
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            guard let id = streamID(of: wsi) else { return -1 }
            return arrive(id)
        case LWS_CALLBACK_HTTP_WRITEABLE:
            guard let id = streamID(of: wsi) else { return 0 }
            return writeable(id)
        case LWS_CALLBACK_CLOSED_HTTP, LWS_CALLBACK_WSI_DESTROY:
            if let id = streamID(of: wsi) { finish(id) }
            return reason == LWS_CALLBACK_CLOSED_HTTP ? 0 : lws_callback_http_dummy(wsi, reason, user, input, length)
        default:
            return lws_callback_http_dummy(wsi, reason, user, input, length)
        }
    }

    private func streamID(of wsi: OpaquePointer) -> Int? {
        guard let raw = lws_get_opaque_user_data(wsi) else { return nil }
        let id = Int(bitPattern: raw)
        return streams[id] == nil ? nil : id
    }

    private func requestLine(_ wsi: OpaquePointer, uri: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        var uriPointer: UnsafeMutablePointer<CChar>?
        var uriLength: Int32 = 0
        let method: StreamingHTTPMethod
        switch lws_http_get_uri_and_method(wsi, &uriPointer, &uriLength) {
        case Int32(LWSHUMETH_GET): method = .get
        case Int32(LWSHUMETH_POST): method = .post
        default: method = .other
        }
        let path = uri.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? ""
        let id = begin(wsi, method: method, path: path)
        // A POST's body follows (BODY, then BODY_COMPLETION); one without a body has none to wait for.
        if method == .post && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 && contentLength(wsi) != 0 {
            return 0
        }
        return arrive(id)
    }

    private func contentLength(_ wsi: OpaquePointer) -> Int? {
        var buffer = [CChar](repeating: 0, count: 32)
        guard lws_hdr_copy(wsi, &buffer, Int32(buffer.count), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 else { return nil }
        return Int(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// The whole request is in: ask the handler, send the head, queue the first bytes.
    private func arrive(_ id: Int) -> Int32 {
        guard var stream = streams[id], !stream.arrived else { return -1 }
        stream.arrived = true
        let body = stream.body
        stream.body = []
        streams[id] = stream
        let response = handler.requestArrived(id, method: stream.method, path: stream.path, body: body)
        let capacity = 512 + response.contentType.utf8.count
        let start = writeBuffer.reserve(capacity)
        var cursor: UnsafeMutablePointer<UInt8>? = start
        // No content length: lws marks the response `Connection: close` (see StreamingHTTPServer).
        let failed = response.contentType.withCString { type in
            lws_add_http_common_headers(stream.wsi, UInt32(clamping: response.status), type, lws_filepos_t.max,
                                        &cursor, start + capacity) != 0
        } || lws_finalize_write_http_header(stream.wsi, start, &cursor, start + capacity) != 0
        if failed { return -1 }
        queue(response.body, on: id, final: response.final)
        return 0
    }

    /// Writes what is pending in one go (lws keeps whatever the socket does not take at once and
    /// holds WRITEABLE back until it is out); after the final bytes, ends the transaction, which
    /// closes the connection.
    private func writeable(_ id: Int) -> Int32 {
        guard var stream = streams[id], stream.arrived, !stream.finalSent else { return 0 }
        guard !stream.pending.isEmpty || stream.final else { return 0 }
        let bytes = stream.pending
        stream.pending = []
        stream.finalSent = stream.final
        streams[id] = stream
        let payload = writeBuffer.load(bytes)
        if lws_write(stream.wsi, payload, bytes.count, stream.final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0 {
            return -1
        }
        guard stream.finalSent else { return 0 }
        return lws_http_transaction_completed(stream.wsi) != 0 ? -1 : 0
    }
}

/// The protocol callback; the loop comes back from the context user pointer (unretained, alive
/// while its service thread runs).
func lwsStreamingHTTPCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons,
                              _ user: UnsafeMutableRawPointer?, _ input: UnsafeMutableRawPointer?,
                              _ length: Int) -> Int32 {
    guard let wsi, let context = lws_get_context(wsi), let owner = lws_context_user(context) else {
        return lws_callback_http_dummy(wsi, reason, user, input, length)
    }
    return Unmanaged<StreamingHTTPLoop>.fromOpaque(owner).takeUnretainedValue()
        .handle(wsi: wsi, reason: reason, user: user, input: input, length: length)
}
