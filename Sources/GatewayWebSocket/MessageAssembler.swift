/// Joins the chunks lws hands to `RECEIVE` (frame pieces of at most `receiveChunkBytes`, and
/// continuation frames) into whole messages, enforcing the size limit.
///
/// UTF-8 is checked by lws (`LWS_SERVER_OPTION_VALIDATE_UTF8`) incrementally and across fragments;
/// the one case it misses is a message whose last frame is empty while the bytes before it end in
/// the middle of a character, which `finish` catches.
struct MessageAssembler {
    enum Outcome: Equatable {
        /// More chunks are needed.
        case incomplete
        case message([UInt8], binary: Bool)
        case tooBig
        case invalidUTF8
    }

    /// Bytes of the message in progress. Empty (and without capacity) between messages, so an idle
    /// connection holds no buffer.
    private var pending: [UInt8] = []
    private var pendingIsBinary = false

    /// Adds one chunk. `first` is lws's first-fragment flag, `final` its final-fragment flag.
    mutating func append(_ chunk: UnsafeRawBufferPointer, first: Bool, final: Bool, binary: Bool,
                         limit: Int) -> Outcome {
        if first {
            pending = []
            pendingIsBinary = binary
        }
        guard pending.count + chunk.count <= limit else {
            pending = []
            return .tooBig
        }
        if first && final {
            // The common case: a whole message in one chunk, copied once and never buffered.
            return .message(Array(chunk), binary: binary)
        }
        pending.append(contentsOf: chunk)
        guard final else { return .incomplete }
        let message = pending
        pending = []
        if !pendingIsBinary && chunk.isEmpty && Self.endsInsideCharacter(message) {
            return .invalidUTF8
        }
        return .message(message, binary: pendingIsBinary)
    }

    /// True when `bytes` (already validated by lws up to its end) stops partway through a UTF-8
    /// sequence: the last lead byte announces more continuation bytes than follow it.
    static func endsInsideCharacter(_ bytes: [UInt8]) -> Bool {
        var continuation = 0
        for byte in bytes.reversed() {
            if byte & 0xC0 == 0x80 {
                continuation += 1
                if continuation > 3 { return true }
                continue
            }
            let expected: Int
            switch byte {
            case 0x00..<0x80: expected = 0
            case 0xC0..<0xE0: expected = 1
            case 0xE0..<0xF0: expected = 2
            case 0xF0..<0xF8: expected = 3
            default: return true
            }
            return continuation != expected
        }
        return continuation > 0
    }
}
