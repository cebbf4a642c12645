import CWebSockets

/// The lws protocol callback for client connections: established, receive, write, close.
/// Everything here runs on the service thread.
extension ClientServiceLoop {
    func handle(wsi: OpaquePointer, reason: lws_callback_reasons, user: UnsafeMutableRawPointer?,
                input: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        if reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED {
            drainInbox()
            return 0
        }
        guard let index = slotIndex(of: wsi) else {
            return lws_callback_http_dummy(wsi, reason, user, input, length)
        }
        switch reason {
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            let text = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "unknown error"
            finish(index, reason: .connectFailed(text))
            return 0
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            established(index, wsi: wsi)
            return 0
        case LWS_CALLBACK_CLIENT_RECEIVE:
            return receive(index, wsi: wsi, UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : length))
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            return writeable(index, wsi: wsi)
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            // The payload starts with the close code, big-endian; none means 1005 (RFC 6455 7.1.5).
            var code: UInt16 = 1005
            if let input, length >= 2 {
                let bytes = input.assumingMemoryBound(to: UInt8.self)
                code = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
            }
            slots[index].serverCloseCode = code
            return 0
        case LWS_CALLBACK_CLIENT_CLOSED:
            finish(index, reason: closeReason(of: slots[index]))
            return 0
        case LWS_CALLBACK_WSI_DESTROY:
            // Every wsi gets this: the backstop for closes lws reported no other way.
            let reason: ClientCloseReason = slots[index].phase == .connecting
                ? .connectFailed("connection destroyed before the upgrade") : closeReason(of: slots[index])
            finish(index, reason: reason)
            return 0
        default:
            return lws_callback_http_dummy(wsi, reason, user, input, length)
        }
    }

    private func slotIndex(of wsi: OpaquePointer) -> Int? {
        guard let raw = lws_get_opaque_user_data(wsi) else { return nil }
        let index = Int(bitPattern: raw) - 1
        guard slots.indices.contains(index), slots[index].phase == .connecting || slots[index].phase == .open else {
            return nil
        }
        return index
    }

    private func closeReason(of slot: ClientSlot) -> ClientCloseReason {
        if let code = slot.serverCloseCode { return .closedByServer(code: code) }
        if slot.closeSent, let code = slot.closeCode { return .closedByClient(code: code) }
        return .dropped
    }

    private func established(_ index: Int, wsi: OpaquePointer) {
        slots[index].phase = .open
        slots[index].wsi = wsi
        pendingConnects -= 1
        counters.open.add(1, ordering: .relaxed)
        counters.opened.add(1, ordering: .relaxed)
        var outbox = ClientOutbox()
        handler.clientOpened(index, outbox: &outbox)
        if stopping && outbox.closeCode == nil { outbox.close(code: 1000) }
        apply(outbox, to: index, wsi: wsi)
        topUp()
    }

    private func receive(_ index: Int, wsi: OpaquePointer, _ chunk: UnsafeRawBufferPointer) -> Int32 {
        let first = lws_is_first_fragment(wsi) != 0
        let final = lws_is_final_fragment(wsi) != 0
        if first && final {
            // The common case: a whole message in one piece, handed over without a copy.
            slots[index].partial = []
            deliver(chunk, to: index, wsi: wsi)
            return 0
        }
        if first { slots[index].partial = [] }
        slots[index].partial.append(contentsOf: chunk)
        if slots[index].partial.count > options.maxMessageBytes {
            slots[index].partial = []
            setCloseCode(wsi, code: 1009)
            slots[index].closeSent = true
            slots[index].closeCode = 1009
            return -1
        }
        guard final else { return 0 }
        let message = slots[index].partial
        slots[index].partial = []
        message.withUnsafeBytes { deliver($0, to: index, wsi: wsi) }
        return 0
    }

    private func deliver(_ message: UnsafeRawBufferPointer, to index: Int, wsi: OpaquePointer) {
        var outbox = ClientOutbox()
        handler.clientReceived(index, text: message, outbox: &outbox)
        apply(outbox, to: index, wsi: wsi)
    }

    private func apply(_ outbox: ClientOutbox, to index: Int, wsi: OpaquePointer) {
        if !outbox.frames.isEmpty { slots[index].enqueue(outbox.frames) }
        if let code = outbox.closeCode, slots[index].closeCode == nil { slots[index].closeCode = code }
        if !outbox.frames.isEmpty || outbox.closeCode != nil { lws_callback_on_writable(wsi) }
    }

    /// Writes queued frames while the socket takes them; then the close, if one was asked for.
    private func writeable(_ index: Int, wsi: OpaquePointer) -> Int32 {
        guard slots[index].phase == .open else { return 0 }
        while slots[index].hasQueuedFrames {
            let frame = slots[index].queue[slots[index].sentCount]
            slots[index].sentCount += 1
            let payload = writeBuffer.load(frame)
            if lws_write(wsi, payload, frame.count, LWS_WRITE_TEXT) < 0 { return -1 }
            if slots[index].hasQueuedFrames && lws_send_pipe_choked(wsi) != 0 {
                lws_callback_on_writable(wsi)
                return 0
            }
        }
        slots[index].queue = []  // an idle connection keeps no buffer
        slots[index].sentCount = 0
        guard let code = slots[index].closeCode else { return 0 }
        slots[index].closeSent = true
        setCloseCode(wsi, code: code)
        return -1  // lws sends the close frame and waits for the server's answer
    }

    private func setCloseCode(_ wsi: OpaquePointer, code: UInt16) {
        lws_close_reason(wsi, lws_close_status(rawValue: numericCast(code)), nil, 0)
    }
}
