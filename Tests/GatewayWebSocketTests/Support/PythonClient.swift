import Foundation
import XCTest

/// Runs WebSocket/HTTP client scripts in `python3`: the `websockets` package (a real, conformant
/// client) for ordinary traffic, and a tiny raw-socket client for what a well-behaved client
/// refuses to do (invalid UTF-8, odd fragmentation, ignoring pings). A script's body is an
/// `async def main():` returning a JSON-serialisable value; `PORT` is predefined.
enum PythonClient {
    static let prelude = #"""
    import asyncio, base64, json, os, socket, struct, sys, time, urllib.request, urllib.error
    import websockets
    from websockets.asyncio.client import connect as _ws_connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    def ws(path="/v1/ws", **kw):
        kw.setdefault("proxy", None)
        kw.setdefault("max_size", None)
        kw.setdefault("compression", None)
        return _ws_connect(f"ws://127.0.0.1:{PORT}{path}", **kw)

    async def refused_status(path="/v1/ws", subprotocols=None):
        """The status of an upgrade request, read raw: lws answers some refusals as HTTP/1.0,
        which the websockets client will not parse."""
        try:
            return Raw(path, protocol=", ".join(subprotocols) if subprotocols else None).status
        except Exception:
            return None

    async def close_of(conn):
        """Wait for the server to close; return [code, reason] as the client received them."""
        try:
            while True:
                await conn.recv()
        except ConnectionClosed as e:
            return [e.rcvd.code, e.rcvd.reason] if e.rcvd else None

    def http(path, method="GET"):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        req = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", method=method)
        try:
            with opener.open(req, timeout=5) as r:
                return {"status": r.status, "type": r.headers.get("Content-Type"),
                        "cache": r.headers.get("Cache-Control"), "body": r.read().decode("latin-1")}
        except urllib.error.HTTPError as e:
            return {"status": e.code, "type": e.headers.get("Content-Type"), "body": ""}

    class Raw:
        """A minimal client that sends exactly the frames it is told to."""
        def __init__(self, path="/v1/ws", protocol=None):
            self.s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
            key = base64.b64encode(os.urandom(16)).decode()
            req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
            if protocol:
                req += f"Sec-WebSocket-Protocol: {protocol}\r\n"
            self.s.sendall((req + "\r\n").encode())
            self.buf = b""
            while b"\r\n\r\n" not in self.buf:
                chunk = self.s.recv(4096)
                if not chunk:
                    raise Exception("closed during handshake")
                self.buf += chunk
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            self.status = int(head.split(b" ")[1])

        def send(self, opcode, payload, fin=True):
            n = len(payload)
            header = bytes([(0x80 if fin else 0) | opcode])
            if n < 126: header += bytes([0x80 | n])
            elif n < 65536: header += bytes([0x80 | 126]) + struct.pack("!H", n)
            else: header += bytes([0x80 | 127]) + struct.pack("!Q", n)
            mask = os.urandom(4)
            key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
            masked = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big") if n else b""
            self.s.sendall(header + mask + masked)

        def _exact(self, n):
            while len(self.buf) < n:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise EOFError()
                self.buf += chunk
            out, self.buf = self.buf[:n], self.buf[n:]
            return out

        def frame(self):
            """Next frame as (opcode, payload), or None once the server has closed the socket."""
            try:
                b0, b1 = self._exact(2)
                n = b1 & 0x7F
                if n == 126: n = struct.unpack("!H", self._exact(2))[0]
                elif n == 127: n = struct.unpack("!Q", self._exact(8))[0]
                return (b0 & 0x0F, self._exact(n))
            except (EOFError, ConnectionResetError):
                return None

        def close_code(self):
            """Skip frames until the close frame; return its code."""
            while True:
                f = self.frame()
                if f is None: return None
                if f[0] == 8: return struct.unpack("!H", f[1][:2])[0] if len(f[1]) >= 2 else 1005

    def _run(main):
        print(json.dumps(asyncio.run(asyncio.wait_for(main(), 20))))
    """#

    /// Runs `body` (which defines `async def main()`) against `port`; returns main's result.
    static func run(_ body: String, port: Int, file: StaticString = #filePath, line: UInt = #line) throws -> Any {
        let script = try start(body, port: port)
        return try script.result(file: file, line: line)
    }

    static func start(_ body: String, port: Int) throws -> Script {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let source = prelude + "\nPORT = \(port)\n" + body + "\n_run(main)\n"
        process.arguments = ["python3", "-c", source]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        return Script(process: process, output: output, errors: errors)
    }

    /// A running client script.
    struct Script {
        let process: Process
        let output: Pipe
        let errors: Pipe

        func result(file: StaticString = #filePath, line: UInt = #line) throws -> Any {
            let stdout = output.fileHandleForReading.readDataToEndOfFile()
            let stderr = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                let message = String(decoding: stderr, as: UTF8.self)
                if message.contains("No module named 'websockets'") {
                    XCTFail("these tests need Python's websockets package: pip install websockets", file: file, line: line)
                }
                throw ScriptFailed(status: process.terminationStatus, stderr: message)
            }
            let lastLine = String(decoding: stdout, as: UTF8.self).split(separator: "\n").last ?? ""
            return try JSONSerialization.jsonObject(with: Data(lastLine.utf8), options: [.fragmentsAllowed])
        }
    }

    struct ScriptFailed: Error, CustomStringConvertible {
        let status: Int32
        let stderr: String
        var description: String { "python exited \(status): \(stderr)" }
    }
}
