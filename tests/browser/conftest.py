"""Fixtures for the browser checks of the web demo (headless Debian chromium driven by PyPI playwright).

- `browser`: one chromium for the whole run (never `playwright install`: Debian's /usr/bin/chromium).
- `gateway`: a real chat-gateway process (binary from $CHAT_GATEWAY_BIN, default
  .build/debug/chat-gateway; this fixture builds nothing), started from the repo root on a free
  port with a temp config whose demo model replies in ~3 s, killed at the end.
- `fake_site`: web-demo/ served to the browser at http://chat.test/ by playwright routing, with a
  scripted in-process WebSocket server (FakeGateway) for exact protocol edge cases.
"""
import json
import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
from playwright.sync_api import sync_playwright

REPO = pathlib.Path(__file__).resolve().parents[2]
WEB_DEMO = REPO / "web-demo"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

# The demo model of the test gateway: 60 tokens at 20 tokens/s, about 3 s per reply.
DEMO_TOKENS = int(os.environ.get("CHAT_TEST_DEMO_TOKENS", "60"))
DEMO_TPS = int(os.environ.get("CHAT_TEST_DEMO_TPS", "20"))


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 900, "height": 700})
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway:
    def __init__(self, proc, port, log):
        self.proc, self.port, self.log = proc, port, log
        self.http = f"http://127.0.0.1:{port}"
        self.ws = f"ws://127.0.0.1:{port}/v1/ws"

    def output(self):
        return "".join(self.log)


@pytest.fixture(scope="session")
def gateway():
    binary = pathlib.Path(os.environ.get("CHAT_GATEWAY_BIN", ".build/debug/chat-gateway"))
    if not binary.is_absolute():
        binary = REPO / binary
    if not binary.exists():
        pytest.fail(f"gateway binary {binary} not found: run `swift build` or set CHAT_GATEWAY_BIN")
    port = free_port()
    config = {
        "server": {"host": "127.0.0.1", "port": port, "static_root": str(WEB_DEMO)},
        "llm": {
            "default_model": "demo",
            "models": {"demo": {"provider": "demo", "tokens_per_second": DEMO_TPS, "tokens": DEMO_TOKENS}},
        },
        # One gateway for the whole suite, every page connecting from 127.0.0.1 and sending faster
        # than a person: no rate limits.
        "limits": {"messages_per_minute": None, "llm_tokens_per_minute_per_user": None,
                   "llm_tokens_per_minute_per_tenant": None, "connections_per_minute_per_ip": None},
    }
    tmp = tempfile.TemporaryDirectory(prefix="chat-gw-browser-")
    cfg = pathlib.Path(tmp.name) / "gateway.json"
    cfg.write_text(json.dumps(config, indent=2))
    proc = subprocess.Popen(
        [str(binary), "--config", str(cfg), "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    )
    log, listening = [], threading.Event()

    def pump():  # keep draining the pipe so that the gateway never blocks on its stdout
        for line in proc.stdout:
            log.append(line)
            if "chat-gateway listening on" in line:
                listening.set()
    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 20
    while not listening.wait(0.1):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"gateway did not start (exit {proc.poll()}):\n{''.join(log)}")
    gw = Gateway(proc, port, log)
    yield gw
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        rc = "killed after SIGTERM timeout"
    if rc != 0:
        print(f"\n[browser tests] gateway exit status after SIGTERM: {rc}\n{gw.output()[-2000:]}")
    tmp.cleanup()


# --------------------------------------------------------------------------------------------
# Scripted server for protocol edge cases (no gateway needed).

from helpers import FAKE_ORIGIN  # noqa: E402  (the origin the fake site is served at)
FAKE_WS = "ws://chat.test/v1/ws"
CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


class FakeConn:
    def __init__(self, gw, ws):
        self.gw, self.ws = gw, ws
        self.frames = []        # client frames, parsed, in order
        self.joined = False
        self.closed = None      # (code, reason) once the client closed
        self.opened_at = time.monotonic()
        ws.on_message(self.on_message)
        ws.on_close(lambda code, reason: setattr(self, "closed", (code, reason)))

    def send(self, frame):
        self.ws.send(json.dumps(frame))

    def deliver(self, *seqs):
        for s in seqs:
            self.send(self.gw.log[s - 1])

    def close(self, code, reason=""):
        self.ws.close(code=code, reason=reason)

    def on_message(self, raw):
        f = json.loads(raw)
        self.frames.append(f)
        gw = self.gw
        if gw.on_frame and gw.on_frame(self, f):
            return
        t = f.get("type")
        if t == "hello":
            self.send({"type": "welcome", "connection_id": f"c{len(gw.conns)}", "node": "fake",
                       "user": "guest-1", "role": "user", "heartbeat_s": 25})
        elif t == "join":
            gw.session = f["session"]
            after = f.get("after_seq")
            last = len(gw.log)
            if gw.snapshot is not None:
                snap, gw.snapshot = gw.snapshot, None
                self.send({"type": "joined", "session": gw.session, "seq": last, "recovered": False})
                self.send(dict(snap, type="snapshot", session=gw.session))
            else:
                self.send({"type": "joined", "session": gw.session, "seq": last,
                           "recovered": after is not None})
                if gw.replay:
                    self.deliver(*range((after or 0) + 1, last + 1))
            self.joined = True
        elif t == "message" and gw.auto_ack:
            known = gw.acked.get(f["id"])
            if known is None:
                known = gw.publish({"type": "message", "id": f["id"], "role": "user",
                                    "author": "guest-1", "text": f["text"], "ts": 0})["seq"]
                gw.acked[f["id"]] = known
            self.send({"type": "ack", "id": f["id"], "seq": known})


class FakeGateway:
    """Just enough of protocol v1, scripted from the test: `log` is the session log (seq = index+1);
    nothing is delivered live unless the test says so (conn.deliver / gw.publish)."""

    def __init__(self):
        self.conns = []
        self.log = []
        self.session = None
        self.acked = {}
        self.auto_ack = True
        self.replay = True          # on join, replay the log after after_seq
        self.snapshot = None        # if set, the next join is answered with this snapshot
        self.on_frame = None        # hook(conn, frame) -> True when it handled the frame

    @property
    def conn(self):
        return self.conns[-1]

    def append(self, event):
        ev = dict(event, session=self.session, seq=len(self.log) + 1)
        self.log.append(ev)
        return ev

    def publish(self, event):
        ev = self.append(event)
        for c in self.conns:
            if c.joined and c.closed is None:
                c.send(ev)
        return ev

    def reply(self, turn, parts, finish="stop", model="fake-model", deliver=True):
        """Append a whole turn (start, one delta per part, end); deliver it live if asked."""
        add = self.publish if deliver else self.append
        add({"type": "turn.start", "turn": turn, "model": model})
        for p in parts:
            add({"type": "turn.delta", "turn": turn, "text": p})
        add({"type": "turn.end", "turn": turn, "finish": finish,
             "usage": {"input_tokens": 1, "output_tokens": len(parts), "estimated": True}})

    def frames(self, type_):
        return [f for c in self.conns for f in c.frames if f.get("type") == type_]


@pytest.fixture
def fake_site(context):
    gw = FakeGateway()

    def serve(route):
        path = route.request.url[len(FAKE_ORIGIN):].split("?")[0]
        if path == "/":
            path = "/index.html"
        f = (WEB_DEMO / path.lstrip("/")).resolve()
        if WEB_DEMO not in f.parents or not f.is_file():
            return route.fulfill(status=404, body="not found")
        route.fulfill(status=200, body=f.read_bytes(),
                      headers={"content-type": CONTENT_TYPES.get(f.suffix, "application/octet-stream")})

    context.route(FAKE_ORIGIN + "/**", serve)
    context.route_web_socket(FAKE_WS, lambda ws: gw.conns.append(FakeConn(gw, ws)))
    return gw
