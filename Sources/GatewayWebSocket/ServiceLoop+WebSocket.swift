import CWebSockets
import GatewayCore

/// The lws protocol callback, and the WebSocket half of it: open, receive, write, close.
/// Everything here runs on the service thread.
extension ServiceLoop {
    /// Bytes one connection may write per WRITEABLE before yielding to the others (fan-out fairness).
    private static let writeBudgetBytes = 256 * 1024
    /// A refused message is read and dropped up to this much more before its close goes out anyway.
    private static let refusedMessageDrainBytes = 1 << 20
    /// An echo connection stops reading while this much is queued back to it.
    private static let echoBacklogBytes = 1024 * 1024

    func handle(wsi: OpaquePointer, reason: lws_callback_reasons, user: UnsafeMutableRawPointer?,
                input: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            drainInbox()
            return 0
        case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
            return confirmUpgrade(wsi, to: input)
        case LWS_CALLBACK_ESTABLISHED:
            return established(wsi)
        case LWS_CALLBACK_RECEIVE:
            guard let connection = connection(of: wsi) else { return -1 }
            return receive(connection, UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : length))
        case LWS_CALLBACK_SERVER_WRITEABLE:
            guard let connection = connection(of: wsi) else { return 0 }
            return writeable(connection)
        case LWS_CALLBACK_CLOSED, LWS_CALLBACK_WSI_DESTROY:
            // WSI_DESTROY backs up CLOSED: every wsi gets it, so no connection can leak.
            if let connection = connection(of: wsi) {
                lws_set_opaque_user_data(wsi, nil)
                finish(connection)
            }
            return reason == LWS_CALLBACK_CLOSED ? 0 : lws_callback_http_dummy(wsi, reason, user, input, length)
        case LWS_CALLBACK_HTTP:
            return serveDynamic(wsi)
        default:
            // File serving, keep-alive and transaction completion are lws's stock HTTP handling.
            return lws_callback_http_dummy(wsi, reason, user, input, length)
        }
    }

    private func connection(of wsi: OpaquePointer) -> Connection? {
        guard let raw = lws_get_opaque_user_data(wsi) else { return nil }
        return Unmanaged<Connection>.fromOpaque(raw).takeUnretainedValue()
    }

    private func established(_ wsi: OpaquePointer) -> Int32 {
        // The request headers are still attached at ESTABLISHED; the path was vetted in confirmUpgrade.
        guard let kind = route(path(of: wsi)) else { return -1 }
        let connection = Connection(id: nextConnectionID(), kind: kind, wsi: wsi)
        connections[connection.id.rawValue] = connection
        lws_set_opaque_user_data(wsi, Unmanaged.passUnretained(connection).toOpaque())
        openCount.add(1, ordering: .relaxed)
        if kind == .chat {
            handler.connectionOpened(connection.id, remoteAddress: peerAddress(wsi))
        }
        if stopping { requestClose(connection, code: 1001, reason: "server shutting down", afterQueuedFrames: true) }
        return 0
    }

    private func receive(_ connection: Connection, _ chunk: UnsafeRawBufferPointer) -> Int32 {
        // After we decided to close, whatever still arrives is ignored.
        guard connection.closeRequest == nil else { return 0 }
        let wsi = connection.wsi
        if let refused = connection.refusedMessage {
            let discarded = refused.discarded + chunk.count
            let messageEnded = lws_is_final_fragment(wsi) != 0 && lws_remaining_packet_payload(wsi) == 0
            if messageEnded || discarded > Self.refusedMessageDrainBytes {
                connection.refusedMessage = nil
                requestClose(connection, code: refused.close.code, reason: refused.close.reason)
            } else {
                connection.refusedMessage = (refused.close, discarded)
            }
            return 0
        }
        let binary = lws_frame_is_binary(wsi) != 0
        if binary && connection.kind == .chat {
            return refuse(connection, code: 1003, reason: "binary messages are not supported")
        }
        let limit = connection.kind == .chat ? options.maxMessageBytes : options.echoMaxMessageBytes
        let outcome = connection.assembler.append(
            chunk, first: lws_is_first_fragment(wsi) != 0, final: lws_is_final_fragment(wsi) != 0,
            binary: binary, limit: limit)
        switch outcome {
        case .incomplete:
            return 0
        case .tooBig:
            return refuse(connection, code: 1009, reason: "message too big")
        case .invalidUTF8:
            return refuse(connection, code: 1007, reason: "invalid UTF-8")
        case .message(let bytes, let isBinary):
            switch connection.kind {
            case .chat:
                handler.connectionReceived(connection.id, text: bytes)
            case .echo:
                connection.echoQueue.append((bytes, isBinary))
                connection.echoQueuedBytes += bytes.count
                if connection.echoQueuedBytes >= Self.echoBacklogBytes && !connection.readingPaused {
                    connection.readingPaused = true
                    lws_rx_flow_control(wsi, 0)
                }
                lws_callback_on_writable(wsi)
            }
            return 0
        }
    }

    /// How far one WRITEABLE got through a connection's queue.
    private enum WriteProgress {
        case drained
        /// Stopped early (socket choked or budget spent) with another WRITEABLE asked for.
        case yielded
        case failed
        case close(code: UInt16, reason: String)
    }

    private func writeable(_ connection: Connection) -> Int32 {
        if let close = connection.closeRequest, !close.afterQueuedFrames {
            return closeNow(connection.wsi, code: close.code, reason: close.reason)
        }
        let progress = connection.kind == .chat ? writeChat(connection) : writeEcho(connection)
        switch progress {
        case .drained:
            guard let close = connection.closeRequest else { return 0 }
            return closeNow(connection.wsi, code: close.code, reason: close.reason)
        case .yielded:
            return 0
        case .failed:
            return -1
        case .close(let code, let reason):
            return closeNow(connection.wsi, code: code, reason: reason)
        }
    }

    /// Writes frames while the socket takes them, so one WRITEABLE (one poll round trip) carries
    /// as many frames as possible: the measured lever for fan-out throughput.
    private func writeChat(_ connection: Connection) -> WriteProgress {
        var written = 0
        while true {
            switch handler.nextOutbound(for: connection.id) {
            case .idle:
                return .drained
            case .close(let code, let reason):
                return .close(code: code, reason: reason)
            case .lastFrame(let bytes):
                return write(bytes, to: connection.wsi, binary: false) ? .drained : .failed
            case .frame(let bytes):
                guard write(bytes, to: connection.wsi, binary: false) else { return .failed }
                written += bytes.count
                if lws_send_pipe_choked(connection.wsi) != 0 || written >= Self.writeBudgetBytes {
                    // Maybe more is waiting; an extra WRITEABLE that finds .idle is cheap.
                    lws_callback_on_writable(connection.wsi)
                    return .yielded
                }
            }
        }
    }

    private func writeEcho(_ connection: Connection) -> WriteProgress {
        var written = 0
        var sent = 0
        defer {
            connection.echoQueue.removeFirst(sent)
            if connection.echoQueue.isEmpty { connection.echoQueue = [] }  // drop the capacity too
        }
        for (bytes, binary) in connection.echoQueue {
            guard write(bytes, to: connection.wsi, binary: binary) else { return .failed }
            sent += 1
            written += bytes.count
            connection.echoQueuedBytes -= bytes.count
            if sent < connection.echoQueue.count
                && (lws_send_pipe_choked(connection.wsi) != 0 || written >= Self.writeBudgetBytes) {
                lws_callback_on_writable(connection.wsi)
                return .yielded
            }
        }
        if connection.readingPaused {
            connection.readingPaused = false
            lws_rx_flow_control(connection.wsi, 1)
        }
        return .drained
    }

    /// One whole message as one frame. lws keeps (and later sends) whatever the socket did not take.
    private func write(_ bytes: [UInt8], to wsi: OpaquePointer, binary: Bool) -> Bool {
        let payload = writeBuffer.payload(count: bytes.count)
        bytes.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { payload.update(from: base, count: source.count) }
        }
        let result = lws_write(wsi, payload, bytes.count, binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT)
        writeBuffer.trim()
        return result >= 0
    }

    /// Closes a connection for what it sent, once the offending message has been read to its end.
    /// Closing while the client is still sending the rest of a fragmented message makes the socket
    /// close with unread data, and the reset that sends can destroy our close frame before the client
    /// reads it. The rest is read and dropped (up to `refusedMessageDrainBytes`), then the close goes
    /// out from WRITEABLE, where lws runs the close handshake.
    private func refuse(_ connection: Connection, code: UInt16, reason: String) -> Int32 {
        let close = Connection.CloseRequest(code: code, reason: reason)
        if lws_is_final_fragment(connection.wsi) != 0 && lws_remaining_packet_payload(connection.wsi) == 0 {
            requestClose(connection, code: code, reason: reason)
        } else {
            connection.refusedMessage = (close, 0)
        }
        return 0
    }

    /// Sets the close frame's code and reason; the caller returns -1 and lws runs the close handshake.
    func closeNow(_ wsi: OpaquePointer, code: UInt16, reason: String) -> Int32 {
        // A close reason is at most 123 bytes; cut on a character boundary so it stays valid UTF-8.
        var bytes = Array(reason.utf8.prefix(123))
        while MessageAssembler.endsInsideCharacter(bytes) { bytes.removeLast() }
        bytes.withUnsafeMutableBufferPointer { buffer in
            lws_close_reason(wsi, lws_close_status(rawValue: numericCast(code)), buffer.baseAddress, buffer.count)
        }
        return -1
    }

    private func peerAddress(_ wsi: OpaquePointer) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        guard let text = lws_get_peer_simple(wsi, &buffer, buffer.count) else { return "" }
        return String(cString: text)
    }
}
