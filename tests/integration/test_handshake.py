"""hello/welcome, subprotocol, hello timeout, HTTP endpoints, echo endpoint, heartbeat pings."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
from websockets.exceptions import InvalidHandshake
from websockets.frames import Opcode

from harness import REPO_ROOT, WSClient, http_get, unique


async def test_hello_welcome_fields_and_subprotocol(gateway):
    c = await WSClient.connect(gateway.ws_url, subprotocols=["chat.v1"])
    assert c.ws.subprotocol == "chat.v1", "server must accept and echo the chat.v1 subprotocol"
    w = await c.hello()
    assert w["type"] == "welcome"
    assert isinstance(w["connection_id"], str) and w["connection_id"]
    assert w["node"] == "it-node", "node must be the configured node.id"
    assert isinstance(w["user"], str) and w["user"]
    assert w["role"] == "user"
    assert type(w["heartbeat_s"]) is int and w["heartbeat_s"] == 25, "default heartbeat_s is 25"

    # A second connection gets its own connection id and its own random guest id.
    c2 = await WSClient.open(gateway.ws_url)
    assert c2.welcome["connection_id"] != w["connection_id"]
    assert c2.welcome["user"] != w["user"], "guest ids must be random per connection"
    await c.close()
    await c2.close()


async def test_no_subprotocol_offered_is_accepted(gateway):
    c = await WSClient.connect(gateway.ws_url, subprotocols=None)
    assert c.ws.subprotocol is None
    w = await c.hello()
    assert w["role"] == "user"
    joined = await c.join(unique())
    assert joined["seq"] == 0
    await c.close()


@pytest.mark.async_timeout(15)
async def test_no_hello_in_time_closes_4001(gateway_factory):
    gw = gateway_factory({"server": {"hello_timeout_s": 1}})
    c = await WSClient.connect(gw.ws_url)
    t0 = time.monotonic()
    code, reason, frames = await c.expect_close(timeout=5)
    elapsed = time.monotonic() - t0
    assert code == 4001, f"expected close 4001, got {code} {reason!r} after {elapsed:.2f} s; frames {frames}"
    assert elapsed >= 0.5, f"closed after {elapsed:.2f} s, before the 1 s hello timeout"
    assert elapsed <= 3.5, f"hello_timeout_s=1 but closed only after {elapsed:.2f} s"
    # A client that does say hello in time is not affected by the timeout.
    ok = await WSClient.open(gw.ws_url)
    await asyncio.sleep(1.5)
    await ok.join(unique())
    await ok.close()


@pytest.mark.parametrize("first", [
    {"type": "join", "session": "x"},
    {"type": "message", "session": "x", "id": "m", "text": "hi"},
    {"type": "welcome"},
], ids=["join", "message", "unknown"])
async def test_first_frame_not_hello_closes_4001(gateway, first):
    c = await WSClient.connect(gateway.ws_url)
    await c.send(first)
    code, reason, frames = await c.expect_close(timeout=5)
    assert code == 4001, f"expected close 4001, got {code} {reason!r}; frames {frames}"
    for raw in frames:  # an explanatory error frame before the close is fine, nothing else
        assert json.loads(raw)["type"] == "error", raw


async def test_invalid_json_as_first_frame_closes_4001(gateway):
    c = await WSClient.connect(gateway.ws_url)
    await c.send_raw("{not json")
    code, reason, frames = await c.expect_close(timeout=5)
    assert code == 4001, f"expected close 4001, got {code} {reason!r}; frames {frames}"


async def test_second_hello_is_bad_request_and_connection_stays_up(gateway):
    c = await WSClient.open(gateway.ws_url)
    await c.send({"type": "hello"})
    err = await c.expect("error")
    assert err["code"] == "bad_request", err
    assert isinstance(err["message"], str)
    joined = await c.join(unique())
    assert joined["seq"] == 0
    await c.close()


async def test_hello_fragmented_into_continuation_frames(gateway):
    """A text message split into several WebSocket frames is one message."""
    c = await WSClient.connect(gateway.ws_url)
    raw = json.dumps({"type": "hello", "client": "fragmented-client"})
    await c.ws.send([raw[:5], raw[5:12], raw[12:]])
    w = await c.expect("welcome")
    assert w["role"] == "user"
    await c.close()


# --------------------------------------------------------------------------- HTTP


def test_healthz_and_readyz_answer_json(gateway):
    for path in ("/healthz", "/readyz"):
        status, headers, body = http_get(gateway.http_url + path)
        assert status == 200, (path, status, body)
        assert "json" in headers.get("content-type", ""), (path, headers)
        doc = json.loads(body)
        assert isinstance(doc, dict), (path, doc)


def test_static_root_serves_index_html(gateway):
    index = REPO_ROOT / "web-demo" / "index.html"
    assert index.exists(), "web-demo/index.html is missing"
    status, headers, body = http_get(gateway.http_url + "/")
    assert status == 200, (status, body[:200])
    assert "text/html" in headers.get("content-type", ""), headers
    assert body == index.read_bytes()

    js = REPO_ROOT / "web-demo" / "chat-client.js"
    if js.exists():
        status, headers, body = http_get(gateway.http_url + "/chat-client.js")
        assert status == 200
        assert "javascript" in headers.get("content-type", ""), headers
        assert body == js.read_bytes()


def test_unknown_path_is_404(gateway):
    status, _, _ = http_get(gateway.http_url + "/no-such-file-" + unique())
    assert status == 404


def _raw_http(port: int, target: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def test_static_root_does_not_escape_via_dot_dot(gateway):
    secret = (REPO_ROOT / "Package.swift").read_bytes()
    for target in ("/../Package.swift", "/%2e%2e/Package.swift", "/..%2fPackage.swift", "/web-demo/../../Package.swift"):
        resp = _raw_http(gateway.port, target)
        assert secret not in resp, f"GET {target} served a file outside the static root"


# --------------------------------------------------------------------------- echo endpoint


async def test_echo_endpoint_off_by_default(gateway):
    with pytest.raises(InvalidHandshake):
        c = await WSClient.connect(gateway.echo_url, subprotocols=None)
        await c.close()


async def test_echo_endpoint_echoes_text_and_binary(gateway_factory):
    gw = gateway_factory(args=["--echo-endpoint"])
    c = await WSClient.connect(gw.echo_url, subprotocols=None, max_size=None)
    ws = c.ws
    await ws.send("héllo ✓")
    assert await asyncio.wait_for(ws.recv(), 5) == "héllo ✓"
    await ws.send(b"\x00\x01\xffbinary")
    got = await asyncio.wait_for(ws.recv(), 5)
    assert got == b"\x00\x01\xffbinary", "binary must be echoed as binary"
    big = bytes(range(256)) * 4096  # 1 MiB
    await ws.send(big)
    assert await asyncio.wait_for(ws.recv(), 10) == big
    big_text = "x" * (1024 * 1024)
    await ws.send(big_text)
    assert await asyncio.wait_for(ws.recv(), 10) == big_text
    # The echo endpoint does not speak chat.v1: a chat frame is just echoed.
    await ws.send('{"type":"hello"}')
    assert await asyncio.wait_for(ws.recv(), 5) == '{"type":"hello"}'
    await c.close()


@pytest.mark.async_timeout(30)
async def test_echo_endpoint_over_default_limit_closes_1009(gateway_factory):
    gw = gateway_factory(args=["--echo-endpoint"])
    c = await WSClient.connect(gw.echo_url, subprotocols=None, max_size=None)
    await c.ws.send(b"\x00" * (16 * 1024 * 1024 + 1))
    code, reason, _ = await c.expect_close(timeout=15)
    assert code == 1009, f"expected 1009 for a message over 16 MiB, got {code} {reason!r}"


async def test_echo_endpoint_configured_limit(gateway_factory):
    limit = 200_000
    gw = gateway_factory({"server": {"echo_endpoint": True, "echo_max_message_bytes": limit}})
    c = await WSClient.connect(gw.echo_url, subprotocols=None, max_size=None)
    exact = b"a" * limit
    await c.ws.send(exact)
    assert await asyncio.wait_for(c.ws.recv(), 5) == exact, "a message of exactly the limit is allowed"
    # Fragmented: every frame is small but the message is over the limit.
    await c.ws.send([b"b" * 50_000] * 5)
    code, reason, _ = await c.expect_close(timeout=5)
    assert code == 1009, f"expected 1009, got {code} {reason!r}"


# --------------------------------------------------------------------------- heartbeat


def _count_pings(ws) -> list:
    pings: list = []
    proto = ws.protocol
    original = proto.recv_frame

    def recv_frame(frame):
        if frame.opcode is Opcode.PING:
            pings.append(time.monotonic())
        return original(frame)

    proto.recv_frame = recv_frame
    return pings


@pytest.mark.async_timeout(15)
async def test_server_pings_keep_idle_connection_alive(gateway_factory):
    gw = gateway_factory({"server": {"heartbeat_s": 1}})
    c = await WSClient.open(gw.ws_url)
    assert c.welcome["heartbeat_s"] == 1
    pings = _count_pings(c.ws)
    await asyncio.sleep(3.5)  # idle on purpose: this is what is being tested
    assert len(pings) >= 1, "server sent no ping in 3.5 s with heartbeat_s=1"
    # Still alive, and our own pings are answered.
    joined = await c.join(unique())
    assert joined["seq"] == 0
    latency = await asyncio.wait_for(await c.ws.ping(), 3)
    assert latency < 3
    await c.close()


@pytest.mark.async_timeout(25)
async def test_dead_client_that_never_pongs_is_dropped(gateway_factory):
    gw = gateway_factory({"server": {"heartbeat_s": 1}})
    c = await WSClient.open(gw.ws_url)
    proto = c.ws.protocol
    original = proto.recv_frame
    swallowed: list = []

    def recv_frame(frame):
        if frame.opcode is Opcode.PING:
            swallowed.append(time.monotonic())
            return None  # never answer: behave like a dead peer
        return original(frame)

    proto.recv_frame = recv_frame
    t0 = time.monotonic()
    # Dropped 2 x heartbeat_s + 10 s after the last sign of life (the upgrade), plus up to a
    # second of timer lateness.
    code, reason, frames = await c.expect_close(timeout=16)
    elapsed = time.monotonic() - t0
    assert swallowed, "connection closed without the server ever pinging"
    assert elapsed <= 14
