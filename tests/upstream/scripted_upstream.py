#!/usr/bin/env python3
"""Scripted LLM upstream for the gateway's tests: OpenAI, Anthropic and Ollama formats (Python 3.11 stdlib only).

Usage:
    python3 tests/upstream/scripted_upstream.py --port 0 --port-file PATH [--host 127.0.0.1]
                                                [--exit-with-stdin] [--verbose]

The port actually bound is written to PATH (atomically: write + rename) once the server listens.
With --exit-with-stdin the server exits when its stdin reaches EOF, so a test process that dies
without cleaning up cannot leave it running.

Formats (one per path; upstream_formats.py writes their bytes), all HTTP/1.1 chunked:
    POST /v1/chat/completions   OpenAI / llama.cpp: `data: {chunk}` events, usage chunk with
                                `choices: []`, `data: [DONE]`. Base URL `http://HOST:PORT/v1`.
    POST /v1/messages           Anthropic Messages: message_start (input usage), content_block_start,
                                ping, content_block_delta..., content_block_stop, message_delta
                                (stop_reason end_turn/max_tokens, cumulative usage: input and output
                                totals), message_stop. Base URL `http://HOST:PORT`.
    POST /api/chat              Ollama NDJSON: `{"message":{"content":...},"done":false}` lines, last
                                `done: true` with done_reason, prompt_eval_count, eval_count.
                                Base URL `http://HOST:PORT`.

The request's `model` selects the script (upstream_scripts.py); parameters follow as `:key=value`
(unknown keys such as `tag=...` are ignored, which makes a request easy to find in the log).
Every script exists in every format. Every response carries `X-Request-Id: <log id>`.

    ok[:tokens=5][:delay_ms=0][:first_token_ms=0]
                                    N tokens "tok0 ", "tok1 ", ... then finish "stop" (Anthropic
                                    end_turn), usage {input: 11, output: N}, end marker.
                                    first_token_ms: the headers and the format's preamble go out at
                                    once, the first token that much later (a slow first token:
                                    nousage, length and slow take it too).
    nousage[:tokens=5][:delay_ms=0] the same without any usage.
    length[:tokens=5]               N tokens, finish "length" (Anthropic max_tokens), usage.
    truncate[:after=3][:abrupt=1]   `after` tokens, then the body ends with no finish and no end
                                    marker; abrupt=1 closes the socket mid-body instead of ending
                                    the chunked body cleanly.
    inband-error[:after=3][:overloaded=0]
                                    `after` tokens, then the format's error under HTTP 200: OpenAI
                                    `data: {"error":{...,"type":"server_error"}}`, Anthropic
                                    `event: error` with overloaded_error, Ollama `{"error":"... busy"}`
                                    (all retryable kinds); overloaded=0 sends invalid_request_error
                                    / a plain message instead. The message has "scripted in-band failure".
    http-NNN[:retry=seconds|date|ms|huge|huge-ms|none]
                                    HTTP NNN (http-500, http-429, http-503, ...) with the format's
                                    JSON error body ("scripted internal error" for 500, "scripted
                                    rate limit" for 429). retry=seconds: `Retry-After: 1`; retry=date:
                                    `Retry-After: <HTTP-date 1-2 s ahead>`; retry=ms:
                                    `retry-after-ms: 300`; retry=huge: `Retry-After: 99999999999999999999`;
                                    retry=huge-ms: `retry-after-ms: 1e300`. Without retry=, a 429 sends
                                    `Retry-After: 7` and other statuses none.
    reset                           reads the request, then resets the connection (SO_LINGER 0 close:
                                    RST) before any response.
    stall-headers                   reads the request and sends nothing until the client goes away
                                    (at most 120 s).
    stall[:after=2]                 `after` tokens, then a keep-alive every 100 ms until the client
                                    goes away (at most 120 s): `: keep-alive` comments (OpenAI),
                                    `event: ping` (Anthropic), blank lines (Ollama).
    slow[:tokens=600][:delay_ms=100] a long drip, for stop/cancel tests.
    split                           a fixed stream sent in awkward pieces (each its own HTTP chunk,
                                    15 ms apart): split mid-line, between CR and LF (CRLF line ends),
                                    inside field names, inside multi-byte UTF-8; Ollama's last line
                                    has no line end. Text: "Split héllo 世界 🙂 end", usage 11/5.
    echo                            replies with the last user message (word by word), then usage:
                                    input = sum over the messages (and Anthropic's `system`) of
                                    len(content) // 4 + 4, output = number of words.

    Any script + :fail_first=K[:fail_with=http-503]
                                    the first K requests with the same `tag=` (or, without a tag,
                                    the same model string) run `fail_with` (any script name, with
                                    the same params) instead; later ones run the script. For
                                    counting retries.

GET /_log
    JSON list of every request: {id, path, format, model, script, attempt, messages, system,
    request, headers, client_port, started_at, finished_at, outcome, closed_at}. `format` is openai, anthropic
    or ollama; `script` is what ran (fail_with while failing first); `attempt` counts requests
    with the same tag, from 1; `messages` are {role, content} as sent (content blocks joined);
    `system` is Anthropic's top-level system prompt (else null); `request` is the whole JSON body;
    `headers` the request headers (lower-case names); `client_port` the TCP port the request came
    from (which process sent it can be found from it, e.g. in /proc/net/tcp). outcome is null while running, then
    "completed" (script ran to its end), "client_closed" (the client went away first) or "reset".
    closed_at is when the request's connection was seen closed (for completed requests: when the
    keep-alive connection later closed). Times: Unix seconds. A client abort is noticed within
    ~10 ms even while a script sleeps between tokens: sleeps poll the socket for EOF with select().
GET /_log?wait_closed=ID[&timeout_ms=2000]
    Long-polls until request ID's connection is closed (or the timeout), then returns that entry.
"""

import argparse
import io
import json
import os
import select
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from upstream_formats import FORMATS
from upstream_scripts import Turn, choose_script, find_script, parse_script

POLL_SECONDS = 0.01


class ClientClosed(Exception):
    """The client closed the connection (EOF seen, or a write failed)."""


class RequestLog:
    def __init__(self):
        self._cond = threading.Condition()
        self._entries = []

    def begin(self, **fields):
        with self._cond:
            entry = {"id": len(self._entries) + 1, **fields,
                     "started_at": time.time(), "finished_at": None, "outcome": None, "closed_at": None}
            self._entries.append(entry)
            return entry

    def finish(self, entry, outcome):
        with self._cond:
            if entry["outcome"] is None:
                entry["outcome"] = outcome
                entry["finished_at"] = time.time()
                if outcome in ("client_closed", "reset"):
                    entry["closed_at"] = entry["finished_at"]
            self._cond.notify_all()

    def connection_closed(self, entries):
        with self._cond:
            now = time.time()
            for entry in entries:
                if entry["outcome"] is None:
                    entry["outcome"], entry["finished_at"] = "client_closed", now
                if entry["closed_at"] is None:
                    entry["closed_at"] = now
            self._cond.notify_all()

    def snapshot(self):
        with self._cond:
            return json.loads(json.dumps(self._entries))

    def wait_closed(self, request_id, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                entry = next((e for e in self._entries if e["id"] == request_id), None)
                remaining = deadline - time.monotonic()
                if entry is None or entry["closed_at"] is not None or remaining <= 0:
                    return json.loads(json.dumps(entry))
                self._cond.wait(remaining)


LOG = RequestLog()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "scripted-upstream/1"
    disable_nagle_algorithm = True  # awkward splits must reach the client as separate segments
    verbose = False
    was_reset = False  # set on the instance by reset_connection

    def setup(self):
        super().setup()
        self.entries = []  # log entries served on this connection

    def finish(self):
        try:
            super().finish()
        finally:
            LOG.connection_closed(self.entries)

    def log_message(self, format, *args):
        if self.verbose:
            sys.stderr.write("upstream: " + (format % args) + "\n")

    # ---- routes

    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/_log":
            return self.send_json(404, {"error": {"message": "not found"}})
        query = parse_qs(url.query)
        if "wait_closed" in query:
            timeout = int(query.get("timeout_ms", ["2000"])[0]) / 1000
            entry = LOG.wait_closed(int(query["wait_closed"][0]), timeout)
            if entry is None:
                return self.send_json(404, {"error": {"message": "no such request"}})
            return self.send_json(200, entry)
        self.send_json(200, LOG.snapshot())

    def do_POST(self):
        path = urlparse(self.path).path
        fmt = FORMATS.get(path)
        if fmt is None:
            return self.send_json(404, {"error": {"message": "not found"}})
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            return self.send_json(400, fmt.error_body(400, "request body is not a JSON object"))
        model = str(request.get("model", ""))
        name, params = parse_script(model)
        script_name, attempt = choose_script(name, params, model)
        entry = LOG.begin(path=path, format=fmt.name, model=model, script=script_name, attempt=attempt,
                          messages=fmt.messages(request), system=fmt.system(request), request=request,
                          headers={key.lower(): value for key, value in self.headers.items()},
                          client_port=self.client_address[1])
        self.entries.append(entry)
        script = find_script(script_name)
        try:
            if script is None:
                self.send_json(400, fmt.error_body(400, f"unknown script {script_name!r}"), entry)
                LOG.finish(entry, "completed")
            else:
                script(Turn(self, entry, fmt, model, params, request))
                LOG.finish(entry, "reset" if self.was_reset else "completed")
        except ClientClosed:
            LOG.finish(entry, "client_closed")
            self.close_connection = True

    # ---- plain responses

    def send_json(self, status, body, entry=None, extra_headers=()):
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if entry is not None:
                self.send_header("X-Request-Id", str(entry["id"]))
            for name, value in extra_headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError as error:
            raise ClientClosed() from error

    # ---- streamed body

    def start_stream(self, entry, content_type):
        try:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("X-Request-Id", str(entry["id"]))
            self.end_headers()
        except OSError as error:
            raise ClientClosed() from error

    def write_chunk(self, data):
        if not data:
            return
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except OSError as error:
            raise ClientClosed() from error

    def end_stream(self):
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError as error:
            raise ClientClosed() from error

    # ---- connection faults

    def abort_abruptly(self):
        """Closes the socket mid-body (FIN without the chunked terminator)."""
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def reset_connection(self):
        """Closes with SO_LINGER 0, so the kernel sends RST instead of FIN. `rfile` holds a
        reference to the socket (close() is only real without one), so it goes first; the handler's
        epilogue then flushes and closes stand-ins instead of the dead socket's files."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()
        self.rfile, self.wfile = io.BytesIO(), io.BytesIO()
        self.was_reset = True
        self.close_connection = True

    def sleep_watching(self, seconds):
        """Sleeps, but raises ClientClosed as soon as the client closes its end."""
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            readable, _, _ = select.select([self.connection], [], [], min(remaining, 0.5))
            if readable:
                try:
                    peeked = self.connection.recv(1, socket.MSG_PEEK)
                except OSError as error:
                    raise ClientClosed() from error
                if not peeked:
                    raise ClientClosed()
                time.sleep(max(0.0, min(remaining, POLL_SECONDS)))  # unexpected bytes: keep pacing


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # concurrency tests connect many clients at once


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--exit-with-stdin", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    Handler.verbose = args.verbose
    server = Server((args.host, args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        temporary = args.port_file + ".tmp"
        with open(temporary, "w") as file:
            file.write(f"{port}\n")
        os.replace(temporary, args.port_file)
    if args.verbose:
        sys.stderr.write(f"upstream: listening on {args.host}:{port}\n")
    if args.exit_with_stdin:
        def watch_stdin():
            sys.stdin.buffer.read()
            os._exit(0)
        threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
