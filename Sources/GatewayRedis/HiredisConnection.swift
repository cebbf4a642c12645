@preconcurrency import Glibc
import CHiredis

/// One hiredis context in non-blocking mode; with `RedisValue+Hiredis.swift`, the only code
/// that touches hiredis. Used only by the thread of the `RedisClient` or `RedisSubscriber` that
/// opened it.
///
/// hiredis frames commands (`redisAppendCommandArgv`) and parses replies; this type only moves
/// bytes when poll(2) says the socket is ready. The blocking API would hold the thread in
/// read(2), deaf to new commands, deadlines and shutdown; the async API would need an event
/// library adapter for what one poll(2) does here.
final class HiredisConnection {
    private let context: UnsafeMutablePointer<redisContext>
    /// For poll(2); hiredis owns it and closes it in `redisFree`.
    let socket: Int32
    /// Commands appended that the socket has not taken yet: wait for POLLOUT and `flush()`.
    private(set) var hasUnsentOutput = false

    /// Starts connecting and returns at once; poll for writable, then call `finishConnect()`.
    /// A host name is resolved here, blocking (hiredis has no asynchronous resolver).
    init(connectingTo address: RedisEndpoint.Address) throws(RedisError) {
        let opened: UnsafeMutablePointer<redisContext>? = switch address {
        case let .tcp(host, port): redisConnectNonBlock(host, Int32(port))
        case let .unixSocket(path): redisConnectUnixNonBlock(path)
        }
        guard let opened else { throw .cannotConnect("hiredis could not allocate a context") }
        guard opened.pointee.err == 0 else {
            let reason = Self.errorText(of: opened)
            redisFree(opened)
            throw .cannotConnect(reason)
        }
        context = opened
        socket = opened.pointee.fd
        if case .tcp = address {
            // Lets the kernel notice a peer that vanished without a FIN (hiredis: 15 s probes).
            _ = redisEnableKeepAlive(opened)
        }
    }

    deinit { redisFree(context) }

    /// After the socket polled writable: whether the connect worked. hiredis 0.14 marks a
    /// non-blocking context connected as soon as connect(2) returns EINPROGRESS, so the kernel
    /// is asked.
    func finishConnect() throws(RedisError) {
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else {
            throw .cannotConnect(String(cString: strerror(errno)))
        }
        guard error == 0 else { throw .cannotConnect(String(cString: strerror(error))) }
    }

    /// Frames one command into hiredis' output buffer; nothing is written until `flush()`.
    func append(_ arguments: [RedisArgument]) throws(RedisError) {
        // One buffer for every argument, so one set of pointers into it covers them all; hiredis
        // copies the bytes before returning. The trailing 0 keeps the buffer non-empty, so its
        // base address exists even when every argument is empty.
        var joined: [UInt8] = []
        joined.reserveCapacity(arguments.reduce(1) { $0 + $1.bytes.count })
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            joined.append(contentsOf: argument.bytes)
            lengths.append(argument.bytes.count)
        }
        joined.append(0)
        let status = joined.withUnsafeBufferPointer { buffer -> Int32 in
            let base = UnsafeRawPointer(buffer.baseAddress!)
            var offset = 0
            var pointers: [UnsafePointer<CChar>?] = lengths.map { length in
                defer { offset += length }
                return (base + offset).assumingMemoryBound(to: CChar.self)
            }
            return pointers.withUnsafeMutableBufferPointer { argv in
                redisAppendCommandArgv(context, Int32(arguments.count), argv.baseAddress, lengths)
            }
        }
        guard status == REDIS_OK else { throw currentError() }
        hasUnsentOutput = true
    }

    /// Writes as much of the output buffer as the socket takes now.
    func flush() throws(RedisError) {
        var done: Int32 = 0
        guard redisBufferWrite(context, &done) == REDIS_OK else { throw currentError() }
        hasUnsentOutput = done == 0
    }

    /// One read(2) into hiredis' parser; call when the socket polled readable.
    func receive() throws(RedisError) {
        guard redisBufferRead(context) == REDIS_OK else { throw currentError() }
    }

    /// The next complete reply already received, or nil when more bytes are needed.
    func nextReply() throws(RedisError) -> RedisValue? {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReplyFromReader(context, &raw) == REDIS_OK else { throw currentError() }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        guard let value = RedisValue(hiredisReply: raw.assumingMemoryBound(to: redisReply.self)) else {
            throw .protocolError("hiredis returned a reply of unknown type")
        }
        return value
    }

    /// The context's error, once a call failed; the context is unusable after it.
    private func currentError() -> RedisError {
        let reason = Self.errorText(of: context)
        return switch context.pointee.err {
        case REDIS_ERR_PROTOCOL: .protocolError(reason)
        case REDIS_ERR_EOF: .connectionLost("the server closed the connection")
        default: .connectionLost(reason)
        }
    }

    private static func errorText(of context: UnsafeMutablePointer<redisContext>) -> String {
        // `errstr` is a char[128], which Swift imports as a tuple.
        withUnsafeBytes(of: &context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
