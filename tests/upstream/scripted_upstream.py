#!/usr/bin/env python3
"""Scripted OpenAI-compatible upstream for the gateway's integration tests (Python 3.11 stdlib only).

Usage:
    python3 tests/upstream/scripted_upstream.py --port 0 --port-file PATH [--host 127.0.0.1]
                                                [--exit-with-stdin] [--verbose]

The port actually bound is written to PATH (atomically: write + rename) once the server listens.
With --exit-with-stdin the server exits when its stdin reaches EOF, so a test process that dies
without cleaning up cannot leave it running.

POST /v1/chat/completions
    Streams like OpenAI / llama.cpp (HTTP/1.1, chunked, `data: {chunk}` events, usage chunk with
    `choices: []`, `data: [DONE]`). The request's `model` selects the script; parameters follow as
    `:key=value` (unknown keys such as `tag=...` are ignored, which makes a request easy to find in
    the log). Every response carries `X-Request-Id: <log id>`.

    ok[:tokens=5][:delay_ms=0]      N tokens "tok0 ", "tok1 ", ... then finish "stop", usage chunk,
                                    [DONE]. usage = {prompt_tokens: 11, completion_tokens: N}.
    nousage[:tokens=5][:delay_ms=0] the same without any usage.
    length[:tokens=5]               N tokens, finish_reason "length", usage, [DONE].
    truncate[:after=3][:abrupt=1]   `after` tokens, then the body ends with no finish_reason and no
                                    [DONE]; abrupt=1 closes the socket mid-body instead of ending
                                    the chunked body cleanly.
    inband-error[:after=3]          `after` tokens, then `data: {"error": {...}}` under HTTP 200.
    http-500                        HTTP 500 with an OpenAI-style JSON error body.
    http-429                        HTTP 429, `Retry-After: 7`, JSON error body.
    stall[:after=2]                 `after` tokens, then a `: keep-alive` comment every 100 ms until
                                    the client goes away (at most 120 s).
    slow[:tokens=600][:delay_ms=100] a long drip, for stop/cancel tests.
    split                           a fixed stream sent in awkward pieces (each its own HTTP chunk,
                                    15 ms apart): split mid-line, between CR and LF (CRLF line ends),
                                    inside `data:`, inside multi-byte UTF-8. Text: "Split héllo 世界 🙂 end".
    echo                            replies with the last user message (word by word), then usage
                                    and [DONE]: shows the gateway sends the conversation.

GET /_log
    JSON list of every request: {id, model, messages, started_at, finished_at, outcome, closed_at}.
    outcome is null while running, then "completed" (script ran to its end) or "client_closed"
    (the client went away first). closed_at is when the request's connection was seen closed
    (for completed requests: when the keep-alive connection later closed). Times: Unix seconds.
    A client abort is noticed within ~10 ms even while a script sleeps between tokens: sleeps
    poll the socket for EOF with select().
GET /_log?wait_closed=ID[&timeout_ms=2000]
    Long-polls until request ID's connection is closed (or the timeout), then returns that entry.
"""

import argparse
import json
import os
import re
import select
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

POLL_SECONDS = 0.01


class ClientClosed(Exception):
    """The client closed the connection (EOF seen, or a write failed)."""


class RequestLog:
    def __init__(self):
        self._cond = threading.Condition()
        self._entries = []

    def begin(self, model, messages):
        with self._cond:
            entry = {"id": len(self._entries) + 1, "model": model, "messages": messages,
                     "started_at": time.time(), "finished_at": None, "outcome": None, "closed_at": None}
            self._entries.append(entry)
            return entry

    def finish(self, entry, outcome):
        with self._cond:
            if entry["outcome"] is None:
                entry["outcome"] = outcome
                entry["finished_at"] = time.time()
                if outcome == "client_closed":
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


def parse_script(model):
    name, *rest = str(model).split(":")
    params = {}
    for part in rest:
        key, _, value = part.partition("=")
        params[key] = value
    return name, params


def int_param(params, key, default):
    try:
        return int(params.get(key, default))
    except ValueError:
        return default


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "scripted-upstream/1"
    disable_nagle_algorithm = True  # awkward splits must reach the client as separate segments
    verbose = False

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
        if urlparse(self.path).path != "/v1/chat/completions":
            return self.send_json(404, {"error": {"message": "not found"}})
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self.send_json(400, {"error": {"message": "request body is not JSON"}})
        model = request.get("model", "")
        entry = LOG.begin(model, request.get("messages", []))
        self.entries.append(entry)
        name, params = parse_script(model)
        script = SCRIPTS.get(name)
        try:
            if script is None:
                self.send_json(400, {"error": {"message": f"unknown script {name!r}"}}, entry)
            else:
                script(self, entry, model, params, request)
            LOG.finish(entry, "completed")
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

    # ---- event stream

    def start_stream(self, entry):
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
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

    def event(self, payload):
        data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        self.write_chunk(f"data: {data}\n\n".encode())

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


def chunk(entry, model, content=None, finish=None, usage=None, role=None, choices=True):
    delta = {}
    if role:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return {
        "id": f"chatcmpl-{entry['id']}", "object": "chat.completion.chunk", "created": int(time.time()),
        "model": model, "system_fingerprint": "scripted",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else [],
        "usage": usage,
    }


def usage_of(prompt_tokens, completion_tokens):
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def stream_tokens(h, entry, model, tokens, delay_s):
    h.event(chunk(entry, model, content="", role="assistant"))
    for index, text in enumerate(tokens):
        if index and delay_s:
            h.sleep_watching(delay_s)
        h.event(chunk(entry, model, content=text))


def token_list(count):
    return [f"tok{i} " for i in range(count)]


def script_ok(h, entry, model, params, request, usage=True, finish="stop"):
    tokens = token_list(int_param(params, "tokens", 5))
    h.start_stream(entry)
    stream_tokens(h, entry, model, tokens, int_param(params, "delay_ms", 0) / 1000)
    h.event(chunk(entry, model, finish=finish))
    if usage:
        h.event(chunk(entry, model, usage=usage_of(11, len(tokens)), choices=False))
    h.event("[DONE]")
    h.end_stream()


def script_truncate(h, entry, model, params, request):
    h.start_stream(entry)
    stream_tokens(h, entry, model, token_list(int_param(params, "after", 3)), 0)
    if params.get("abrupt") == "1":
        h.connection.shutdown(socket.SHUT_RDWR)
        h.close_connection = True
    else:
        h.end_stream()


def script_inband_error(h, entry, model, params, request):
    h.start_stream(entry)
    stream_tokens(h, entry, model, token_list(int_param(params, "after", 3)), 0)
    h.event({"error": {"message": "scripted in-band failure", "type": "server_error", "code": 500}})
    h.end_stream()
    h.close_connection = True


def script_http(status, message, headers=()):
    def run(h, entry, model, params, request):
        h.send_json(status, {"error": {"message": message, "type": "scripted_error", "code": status}},
                    entry, headers)
    return run


def script_stall(h, entry, model, params, request):
    h.start_stream(entry)
    stream_tokens(h, entry, model, token_list(int_param(params, "after", 2)), 0)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        h.sleep_watching(0.1)
        h.write_chunk(b": keep-alive\n\n")
    h.end_stream()


def script_slow(h, entry, model, params, request):
    params = {"tokens": "600", "delay_ms": "100", **params}
    script_ok(h, entry, model, params, request)


SPLIT_TOKENS = ["Split", " héllo", " 世界", " 🙂", " end"]


def split_stream_bytes(entry, model):
    events = [chunk(entry, model, content="", role="assistant")]
    events += [chunk(entry, model, content=text) for text in SPLIT_TOKENS]
    events += [chunk(entry, model, finish="stop"), chunk(entry, model, usage=usage_of(11, 5), choices=False)]
    body = ": split script\r\n\r\n"
    for index, event in enumerate(events):
        # Alternate `data:` with and without the optional space.
        body += ("data:" if index % 2 else "data: ") + json.dumps(event, ensure_ascii=False) + "\r\n\r\n"
    return (body + "data: [DONE]\r\n\r\n").encode()


def split_points(data):
    cuts = {data.index(b"\r\n") + 1,                          # between CR and LF
            data.index(b"data") + 2,                          # inside the field name
            data.index(b'"content"') + 4,                     # mid-line, mid-JSON
            data.index("é".encode()) + 1,                     # inside a 2-byte character
            data.index("世".encode()) + 1,                    # inside a 3-byte character
            data.index("界".encode()) + 2,
            data.index("🙂".encode()) + 2,                    # inside a 4-byte character
            data.index(b"\r\n\r\ndata: [DONE]") + 3,          # between the last CR and LF of an event
            len(data) - 3}                                    # inside `[DONE]`'s line end
    return sorted(cuts)


def script_split(h, entry, model, params, request):
    data = split_stream_bytes(entry, model)
    h.start_stream(entry)
    start = 0
    for cut in split_points(data) + [len(data)]:
        h.write_chunk(data[start:cut])
        start = cut
        h.sleep_watching(0.015)
    h.end_stream()


def script_echo(h, entry, model, params, request):
    messages = request.get("messages", [])
    last_user = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
    tokens = re.findall(r"\S+\s*|\s+", last_user)
    prompt_tokens = sum(len(str(m.get("content", ""))) // 4 + 4 for m in messages)
    h.start_stream(entry)
    stream_tokens(h, entry, model, tokens, 0)
    h.event(chunk(entry, model, finish="stop"))
    h.event(chunk(entry, model, usage=usage_of(prompt_tokens, len(tokens)), choices=False))
    h.event("[DONE]")
    h.end_stream()


SCRIPTS = {
    "ok": script_ok,
    "nousage": lambda h, e, m, p, r: script_ok(h, e, m, p, r, usage=False),
    "length": lambda h, e, m, p, r: script_ok(h, e, m, p, r, finish="length"),
    "truncate": script_truncate,
    "inband-error": script_inband_error,
    "http-500": script_http(500, "scripted internal error"),
    "http-429": script_http(429, "scripted rate limit", [("Retry-After", "7")]),
    "stall": script_stall,
    "slow": script_slow,
    "split": script_split,
    "echo": script_echo,
}


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
