#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One dispatched server-sent event.
public struct SSEEvent: Sendable, Equatable {
    /// The `event:` field, or `"message"` when the event had none (WHATWG default).
    public var event: String
    /// The `data:` lines joined with `\n`.
    public var data: String
    /// The last event ID seen so far in the stream (it persists across events, as WHATWG says), nil if none.
    public var id: String?

    public init(event: String = "message", data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}

/// Incremental WHATWG `text/event-stream` parser for upstream bodies (HTML Living Standard, 9.2.6).
///
/// Feed it byte chunks exactly as the network delivered them; it buffers raw bytes and decodes
/// UTF-8 only once an event's data is complete, so a read boundary inside a multi-byte character,
/// between CR and LF, or in the middle of a field name changes nothing.
///
/// Rules implemented: lines end with CRLF, LF or CR (a CR ending one chunk plus an LF starting the
/// next is one line end); a leading UTF-8 BOM is stripped; `:` lines are comments (keep-alives);
/// one optional space after the field colon is stripped; a line without a colon is a field with an
/// empty value; several `data:` lines are joined with `\n`; a blank line dispatches the event unless
/// its data buffer is empty (no `data` line at all); `retry` and unknown fields are ignored (this
/// client never reconnects by itself). Unlike a browser, `finish()` also dispatches a last event
/// that lacked its blank line, because servers end streams with `data: [DONE]` and no blank line.
///
/// Hot path: line ends are found with `memchr`, complete lines inside a chunk are parsed in place,
/// and only a line split across chunks is copied into a reused buffer. No allocation per byte; one
/// `String` per dispatched event (plus one for `event:`/`id:` values when present).
public struct SSEParser {
    /// Bytes of a line whose end has not arrived yet (capacity is kept between lines).
    private var partialLine: [UInt8] = []
    private var event = PendingEvent()
    /// The previous chunk ended with CR: an LF at the start of the next chunk belongs to that line end.
    private var skipLeadingLF = false
    /// Nothing but a possible BOM prefix has been seen yet.
    private var atStreamStart = true

    public init() {}

    /// Parses `bytes`; `onEvent` is called synchronously for each event completed by this chunk.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, onEvent: (SSEEvent) -> Void) {
        guard !bytes.isEmpty else { return }
        if atStreamStart {
            // The BOM may itself be split across chunks: hold bytes until we can tell.
            partialLine.append(contentsOf: bytes)
            guard let afterBOM = Self.bomCheck(partialLine) else { return }
            atStreamStart = false
            let head = Array(partialLine[afterBOM...])
            partialLine.removeAll(keepingCapacity: true)
            head.withUnsafeBytes { scan($0, onEvent: onEvent) }
            return
        }
        scan(bytes, onEvent: onEvent)
    }

    /// Convenience for tests and small inputs: returns the events completed by this chunk.
    public mutating func feed(_ bytes: [UInt8]) -> [SSEEvent] {
        var events: [SSEEvent] = []
        bytes.withUnsafeBytes { feed($0) { events.append($0) } }
        return events
    }

    /// End of body: parses an unterminated last line and dispatches a pending event that lacked its
    /// blank line. The parser is then reset (a new stream may be fed).
    public mutating func finish(onEvent: (SSEEvent) -> Void) {
        // At stream start, a buffer that is still only a BOM prefix holds nothing to parse.
        let start = atStreamStart ? (Self.bomCheck(partialLine) ?? partialLine.count) : 0
        if start < partialLine.count {
            partialLine.withUnsafeBytes { event.processLine(UnsafeRawBufferPointer(rebasing: $0[start...]), onEvent: onEvent) }
        }
        event.dispatch(onEvent: onEvent)
        self = SSEParser()
    }

    public mutating func finish() -> [SSEEvent] {
        var events: [SSEEvent] = []
        finish { events.append($0) }
        return events
    }

    // MARK: - Line splitting

    private mutating func scan(_ bytes: UnsafeRawBufferPointer, onEvent: (SSEEvent) -> Void) {
        guard let base = bytes.baseAddress else { return }
        let count = bytes.count
        var start = 0
        if skipLeadingLF {
            skipLeadingLF = false
            if bytes[0] == lf { start = 1 }
        }
        // Next CR/LF positions, cached so each memchr covers every byte at most once per chunk.
        var nextLF = -1, nextCR = -1
        while start < count {
            if nextLF < start { nextLF = Self.find(lf, base, from: start, count: count) }
            if nextCR < start { nextCR = Self.find(cr, base, from: start, count: count) }
            let end = min(nextLF, nextCR)
            if end == count {
                partialLine.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<count]))
                return
            }
            let line = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            if partialLine.isEmpty {
                event.processLine(line, onEvent: onEvent)
            } else {
                partialLine.append(contentsOf: line)
                partialLine.withUnsafeBytes { event.processLine($0, onEvent: onEvent) }
                partialLine.removeAll(keepingCapacity: true)
            }
            start = end + 1
            if bytes[end] == cr {
                if start == count {
                    skipLeadingLF = true
                } else if bytes[start] == lf {
                    start += 1
                }
            }
        }
    }

    /// Index of `byte` in `base[from..<count]`, or `count` when absent.
    private static func find(_ byte: UInt8, _ base: UnsafeRawPointer, from: Int, count: Int) -> Int {
        guard let hit = memchr(base + from, Int32(byte), count - from) else { return count }
        return base.distance(to: UnsafeRawPointer(hit))
    }

    /// Where the content starts after an optional BOM, or nil while `bytes` is still a proper BOM prefix.
    private static func bomCheck(_ bytes: [UInt8]) -> Int? {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let n = min(bytes.count, bom.count)
        guard bytes[..<n].elementsEqual(bom[..<n]) else { return 0 }
        return n == bom.count ? bom.count : nil
    }
}

private let lf: UInt8 = 0x0A
private let cr: UInt8 = 0x0D
private let colon: UInt8 = 0x3A
private let space: UInt8 = 0x20

/// The fields of the event being assembled (kept apart from the line buffer so a buffered line can
/// be read while the event is mutated).
private struct PendingEvent {
    private static let dataField = Array("data".utf8)
    private static let eventField = Array("event".utf8)
    private static let idField = Array("id".utf8)

    /// `data` values, each followed by LF (the last LF is dropped at dispatch), as raw bytes.
    var data: [UInt8] = []
    var eventType: String?
    var lastEventID: String?

    mutating func processLine(_ line: UnsafeRawBufferPointer, onEvent: (SSEEvent) -> Void) {
        guard let first = line.first else {
            dispatch(onEvent: onEvent)
            return
        }
        if first == colon { return }  // comment / keep-alive
        let fieldEnd = line.firstIndex(of: colon) ?? line.count
        let field = UnsafeRawBufferPointer(rebasing: line[..<fieldEnd])
        var valueStart = min(fieldEnd + 1, line.count)
        if valueStart < line.count, line[valueStart] == space { valueStart += 1 }
        let value = UnsafeRawBufferPointer(rebasing: line[valueStart...])

        if field.elementsEqual(Self.dataField) {
            data.append(contentsOf: value)
            data.append(lf)
        } else if field.elementsEqual(Self.eventField) {
            eventType = String(decoding: value.assumingMemoryBound(to: UInt8.self), as: UTF8.self)
        } else if field.elementsEqual(Self.idField) {
            if !value.contains(0) { lastEventID = String(decoding: value.assumingMemoryBound(to: UInt8.self), as: UTF8.self) }
        }
        // `retry` and unknown fields: ignored.
    }

    mutating func dispatch(onEvent: (SSEEvent) -> Void) {
        defer { eventType = nil }
        guard !data.isEmpty else { return }
        let text = data.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0.dropLast()), as: UTF8.self) }
        data.removeAll(keepingCapacity: true)
        let type = eventType.flatMap { $0.isEmpty ? nil : $0 } ?? "message"
        onEvent(SSEEvent(event: type, data: text, id: lastEventID))
    }
}
