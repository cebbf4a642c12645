import CCurl
import CGatewayShims.Curl

/// One easy handle and everything it points at. Used only on the curl thread (`CurlLoop`).
///
/// Lifetime: `init` retains `self` once (`Unmanaged.passRetained`) and gives that pointer to curl
/// as the WRITE/HEADER/PREREQ data and PRIVATE pointer; `cleanup()` destroys the easy handle first
/// and then releases that one retain, so no callback can see a freed object.
final class CurlTransfer {
    let id: HTTPTransferID
    let handler: any HTTPStreamHandler
    let easy: UnsafeMutableRawPointer

    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// curl writes its detailed message here ("Failed to connect to ... Connection refused").
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var retainedSelf: Unmanaged<CurlTransfer>?

    /// Set by the prereq callback: the connection is up, so a timeout is not a connect failure.
    private var connected = false
    private var status = 0
    private var headers: [(name: String, value: String)] = []
    private var headDelivered = false

    enum SetupError: Error { case easyInit, option(String, CURLcode) }

    init(id: HTTPTransferID, request: HTTPStreamRequest, handler: any HTTPStreamHandler) throws {
        guard let easy = curl_easy_init() else { throw SetupError.easyInit }
        self.id = id
        self.handler = handler
        self.easy = easy
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        let me = Unmanaged.passRetained(self)
        retainedSelf = me
        do {
            try configure(request, userData: me.toOpaque())
        } catch {
            cleanup()
            throw error
        }
    }

    private func configure(_ request: HTTPStreamRequest, userData: UnsafeMutableRawPointer) throws {
        func check(_ name: String, _ code: CURLcode) throws {
            guard code == CURLE_OK else { throw SetupError.option(name, code) }
        }
        try check("URL", cg_curl_setopt_ptr(easy, CURLOPT_URL, request.url))
        try check("NOSIGNAL", cg_curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1))  // curl thread must never get signals
        try check("HTTP_VERSION", cg_curl_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1)))
        try check("TCP_NODELAY", cg_curl_setopt_long(easy, CURLOPT_TCP_NODELAY, 1))
        // Long idle streams: let the kernel notice a vanished peer.
        try check("TCP_KEEPALIVE", cg_curl_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1))
        try check("ERRORBUFFER", cg_curl_setopt_ptr(easy, CURLOPT_ERRORBUFFER, errorBuffer))
        try check("CONNECTTIMEOUT_MS", cg_curl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeout.curlMilliseconds))
        if let total = request.totalTimeout {
            try check("TIMEOUT_MS", cg_curl_setopt_long(easy, CURLOPT_TIMEOUT_MS, total.curlMilliseconds))
        }
        if let stall = request.stallTimeout {
            try check("LOW_SPEED_LIMIT", cg_curl_setopt_long(easy, CURLOPT_LOW_SPEED_LIMIT, 1))
            try check("LOW_SPEED_TIME", cg_curl_setopt_long(easy, CURLOPT_LOW_SPEED_TIME, (stall.curlMilliseconds + 999) / 1_000))
        }

        switch request.method {
        case .get:
            try check("HTTPGET", cg_curl_setopt_long(easy, CURLOPT_HTTPGET, 1))
        case .post:
            try check("POST", cg_curl_setopt_long(easy, CURLOPT_POST, 1))
            // Size first, then COPYPOSTFIELDS: curl copies the bytes, so the array need not outlive this call.
            try check("POSTFIELDSIZE_LARGE", cg_curl_setopt_off(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
            try request.body.withUnsafeBytes { body in
                try check("COPYPOSTFIELDS", cg_curl_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, body.baseAddress ?? UnsafeRawPointer(errorBuffer)))
            }
        }

        for header in request.headers {
            // "Name:" with nothing after it tells curl to drop its own default for that header (e.g. Expect).
            let line = header.value.isEmpty ? "\(header.name):" : "\(header.name): \(header.value)"
            guard let list = curl_slist_append(headerList, line) else { throw SetupError.option("HTTPHEADER", CURLE_OUT_OF_MEMORY) }
            headerList = list
        }
        if let headerList {
            try check("HTTPHEADER", cg_curl_setopt_ptr(easy, CURLOPT_HTTPHEADER, headerList))
        }

        try check("PRIVATE", cg_curl_setopt_ptr(easy, CURLOPT_PRIVATE, userData))
        try check("HEADERFUNCTION", cg_curl_setopt_write_callback(easy, CURLOPT_HEADERFUNCTION, curlHeaderCallback))
        try check("HEADERDATA", cg_curl_setopt_ptr(easy, CURLOPT_HEADERDATA, userData))
        try check("WRITEFUNCTION", cg_curl_setopt_write_callback(easy, CURLOPT_WRITEFUNCTION, curlWriteCallback))
        try check("WRITEDATA", cg_curl_setopt_ptr(easy, CURLOPT_WRITEDATA, userData))
        try check("PREREQFUNCTION", cg_curl_setopt_prereq(easy, curlPrereqCallback))
        try check("PREREQDATA", cg_curl_setopt_ptr(easy, CURLOPT_PREREQDATA, userData))
    }

    /// The transfer for an easy handle, via CURLOPT_PRIVATE.
    static func from(easy: UnsafeMutableRawPointer) -> CurlTransfer? {
        var pointer: UnsafeMutableRawPointer?
        guard cg_curl_getinfo_ptr(easy, CURLINFO_PRIVATE, &pointer) == CURLE_OK, let pointer else { return nil }
        return Unmanaged<CurlTransfer>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Maps curl's result code to the handler's result.
    func result(for code: CURLcode) -> Result<Void, HTTPStreamError> {
        if code == CURLE_OK { return .success(()) }
        let message = errorBuffer.pointee != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT:
            return .failure(.couldNotConnect(message))
        case CURLE_OPERATION_TIMEDOUT:
            return .failure(connected ? .timedOut(message) : .connectTimedOut(message))
        default:
            return .failure(.transport(code: Int(code.rawValue), message: message))
        }
    }

    /// Destroys the easy handle (after `curl_multi_remove_handle`) and drops the retain curl held.
    func cleanup() {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        headerList = nil
        errorBuffer.deallocate()
        retainedSelf?.release()
        retainedSelf = nil
    }

    // MARK: - Callbacks (curl thread, from inside curl_multi_perform)

    fileprivate func receiveHeaderLine(_ line: UnsafeRawBufferPointer) {
        guard !headDelivered else { return }  // trailers after a chunked body
        // Trim the line end as bytes: in a String, "\r\n" is one Character, equal to neither "\r" nor "\n".
        var bytes = line[...]
        while let last = bytes.last, last == UInt8(ascii: "\r") || last == UInt8(ascii: "\n") { bytes = bytes.dropLast() }
        let text = Substring(String(decoding: bytes, as: UTF8.self))

        if text.hasPrefix("HTTP/") {
            // A new status line starts a new header block (after 100 Continue, for instance).
            let parts = text.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers.removeAll()
        } else if text.isEmpty {
            if (100..<200).contains(status) { return }  // interim response: the real one follows
            deliverHead()
        } else if let colon = text.firstIndex(of: ":") {
            let name = String(text[..<colon])
            let value = text[text.index(after: colon)...].drop(while: { $0 == " " || $0 == "\t" })
            headers.append((name, String(value)))
        }
    }

    fileprivate func receiveBody(_ bytes: UnsafeRawBufferPointer) {
        if !headDelivered {
            // No header block seen (should not happen with HTTP/1.1): report what curl knows.
            var code = 0
            _ = cg_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
            status = code
            deliverHead()
        }
        handler.didReceiveBody(bytes)
    }

    fileprivate func markConnected() { connected = true }

    private func deliverHead() {
        headDelivered = true
        handler.didReceiveHead(HTTPResponseHead(status: status, headers: headers))
        headers = []
    }
}

// C function pointers: closures that capture nothing; `self` comes back from the user-data pointer.

private let curlHeaderCallback: curl_write_callback = { buffer, size, count, userData in
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userData!).takeUnretainedValue()
    transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: buffer, count: size * count))
    return size * count
}

private let curlWriteCallback: curl_write_callback = { buffer, size, count, userData in
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userData!).takeUnretainedValue()
    transfer.receiveBody(UnsafeRawBufferPointer(start: buffer, count: size * count))
    return size * count
}

private let curlPrereqCallback: curl_prereq_callback = { userData, _, _, _, _ in
    Unmanaged<CurlTransfer>.fromOpaque(userData!).takeUnretainedValue().markConnected()
    return CURL_PREREQFUNC_OK
}
