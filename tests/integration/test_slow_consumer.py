"""Slow consumers: merged deltas for a reader that is behind, 4008 past the outbound cap, resume after it.

On loopback the kernel buffers a lot for a reader that stops reading (the gateway's send
buffer autotunes to a few MiB), so before anything queues inside the gateway that buffer
must be full. The tests watch it through /proc/net/tcp (server-side tx_queue plus
client-side rx_queue of the slow connection) and only then count on the gateway's own
queue: while that sum still grows, frames are going straight to the kernel.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import pytest

from harness import (WSClient, assert_contiguous, covered, is_event, normalize, turn_text, unique)


def _proc_tcp_entries():
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            local, remote, queues = parts[1], parts[2], parts[4]
            lport = int(local.rsplit(":", 1)[1], 16)
            rport = int(remote.rsplit(":", 1)[1], 16)
            tx, rx = (int(x, 16) for x in queues.split(":"))
            yield lport, rport, tx, rx


def backlog(server_port: int, client_port: int) -> int | None:
    """Bytes stuck between the gateway and a client: server tx_queue + client rx_queue."""
    server_tx = client_rx = None
    for lport, rport, tx, rx in _proc_tcp_entries():
        if lport == server_port and rport == client_port:
            server_tx = tx
        elif lport == client_port and rport == server_port:
            client_rx = rx
    if server_tx is None or client_rx is None:
        return None
    return server_tx + client_rx


async def open_stalling_client(gw) -> WSClient:
    """A client with a tiny receive buffer, so that it backs up quickly once it stops reading."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", gw.port))
    sock.setblocking(False)
    c = await WSClient.connect(gw.ws_url, sock=sock, max_size=None)
    await c.hello()
    return c


async def wait_backlog_change(gw_port: int, cport: int, before: int, timeout: float = 0.15) -> int:
    deadline = time.monotonic() + timeout
    while True:
        now = backlog(gw_port, cport)
        assert now is not None, "could not find the slow connection in /proc/net/tcp"
        if now != before or time.monotonic() >= deadline:
            return now
        await asyncio.sleep(0.01)


async def fill_until_stalled(gw, writer: WSClient, session: str, cport: int, text_size: int,
                             stalled_rounds: int = 3, max_rounds: int = 400) -> list[dict]:
    """Send messages (each with its turn) until the slow connection's kernel buffers stop growing
    for `stalled_rounds` rounds in a row. Returns the writer's events."""
    events: list[dict] = []
    level = backlog(gw.port, cport)
    assert level is not None, "could not find the slow connection in /proc/net/tcp"
    stalled = 0
    for i in range(max_rounds):
        await writer.message(session, f"fill{i}", f"{i}:" + "x" * text_size)
        frames = await writer.recv_turn(timeout=10)
        assert not [f for f in frames if f["type"] == "error"], frames
        events += [f for f in frames if is_event(f)]
        new_level = await wait_backlog_change(gw.port, cport, level)
        stalled = stalled + 1 if new_level == level else 0
        level = new_level
        if stalled >= stalled_rounds:
            return events
    raise AssertionError(f"slow connection's buffers never filled up (backlog {level} bytes)")


def parse_events(raw_frames: list) -> list[dict]:
    out = []
    for raw in raw_frames:
        assert isinstance(raw, str), raw[:50]
        f = json.loads(raw)
        assert f["type"] != "error", f
        if is_event(f):
            out.append(f)
    return out


@pytest.mark.async_timeout(45)
async def test_slow_consumer_closed_4008_others_unaffected_and_resume(gateway_factory):
    gw = gateway_factory({
        "server": {"outbound_queue_bytes": 65536},
        "llm": {"models": {"demo": {"provider": "demo", "tokens": 20, "tokens_per_second": 2000}}},
    })
    s = unique()
    slow = await open_stalling_client(gw)
    await slow.join(s)
    healthy = await WSClient.open(gw.ws_url, max_size=None)
    await healthy.join(s)
    cport = slow.ws.transport.get_extra_info("sockname")[1]
    slow.ws.transport.pause_reading()

    t0 = time.monotonic()
    h_events = await fill_until_stalled(gw, healthy, s, cport, text_size=30_000)
    # Once stalled, every further round queues inside the gateway: 3 x ~30 KB > 64 KiB,
    # so the slow connection is past its cap by now. The healthy one never waited.
    fill_time = time.monotonic() - t0
    assert_contiguous(h_events, 1)
    assert all(e["finish"] == "stop" for e in h_events if e["type"] == "turn.end")

    slow.ws.transport.resume_reading()
    code, reason, raw = await slow.expect_close(timeout=15)
    assert code == 4008, f"expected close 4008 'slow consumer', got {code} {reason!r} (fill took {fill_time:.1f} s)"
    got = parse_events(raw)
    assert got, "the slow client should have received what the kernel had buffered"
    last = assert_contiguous(got, 1)
    assert last < h_events[-1]["seq"], "the slow client cannot have received everything"
    # What it got is a prefix of what the healthy subscriber got (the last delta run may be cut short).
    assert normalize([e for e in h_events if e["seq"] <= last])[:-1] == normalize(got)[:-1]

    # It can resume.
    again = await WSClient.open(gw.ws_url, max_size=None)
    joined = await again.join(s, after_seq=last)
    end_seq = h_events[-1]["seq"]
    assert joined["seq"] == end_seq, joined
    if joined["recovered"]:
        rest = await again.recv_until(lambda f: f.get("seq") == end_seq, timeout=10)
        assert_contiguous(rest, last + 1)
        assert turn_text(got + rest) == turn_text(h_events)
        assert [e["id"] for e in got + rest if e["type"] == "message"] == \
               [e["id"] for e in h_events if e["type"] == "message"]
    else:
        snap = await again.expect("snapshot")
        assert snap["seq"] == end_seq
    await again.expect_nothing(0.2)
    await healthy.close()
    await again.close()


@pytest.mark.async_timeout(45)
async def test_reader_behind_gets_merged_deltas(gateway_factory):
    gw = gateway_factory({
        # big cap: this reader is behind but not past the cap
        "server": {"outbound_queue_bytes": 4 * 1024 * 1024},
        "llm": {"models": {"demo": {"provider": "demo", "tokens": 100, "tokens_per_second": 5000}}},
    })
    s = unique()
    slow = await open_stalling_client(gw)
    await slow.join(s)
    healthy = await WSClient.open(gw.ws_url, max_size=None)
    await healthy.join(s)
    cport = slow.ws.transport.get_extra_info("sockname")[1]
    slow.ws.transport.pause_reading()

    h_events = await fill_until_stalled(gw, healthy, s, cport, text_size=30_000)
    end_seq = h_events[-1]["seq"]

    slow.ws.transport.resume_reading()
    got = await slow.recv_until(lambda f: f.get("seq") == end_seq, timeout=15)
    assert all(is_event(f) for f in got), [f for f in got if not is_event(f)][:3]
    assert_contiguous(got, 1)
    assert normalize(got) == normalize(h_events)
    merged = [f for f in got if f["type"] == "turn.delta" and "from_seq" in f and f["from_seq"] < f["seq"]]
    assert merged, "a subscriber that was behind by whole turns of deltas must get merged turn.delta frames"
    for f in merged:
        assert len(covered(f)) > 1
    # Merged frames never span two turns: every covered seq belonged to a delta of that turn.
    by_seq = {}
    for e in h_events:
        for q in covered(e):
            by_seq[q] = e
    for f in merged:
        for q in covered(f):
            assert by_seq[q]["type"] == "turn.delta" and by_seq[q]["turn"] == f["turn"], (f, by_seq[q])
    # The slow reader never slowed the healthy one, and it is still connected.
    await slow.expect_nothing(0.2)
    await slow.message(s, "after", "still here")
    assert (await slow.expect("ack"))["seq"] == end_seq + 1
    await slow.recv_turn()
    await healthy.close()
    await slow.close()


async def test_fast_reader_invariants_with_fast_demo(gateway_factory):
    """A normal reader of a fast long turn: whatever merging happens, coverage is exact."""
    gw = gateway_factory({"llm": {"models": {"demo": {"provider": "demo", "tokens": 2000, "tokens_per_second": 2000}}}})
    s = unique()
    a = await WSClient.open(gw.ws_url)
    b = await WSClient.open(gw.ws_url)
    await a.join(s)
    await b.join(s)
    await a.message(s, "m1", "long")
    ea = [f for f in await a.recv_turn(timeout=15) if is_event(f)]
    eb = [f for f in await b.recv_turn(timeout=15) if is_event(f)]
    assert_contiguous(ea, 1)
    assert_contiguous(eb, 1)
    assert normalize(ea) == normalize(eb)
    assert turn_text(ea) == turn_text(eb) and turn_text(ea)
    await a.close()
    await b.close()


async def test_an_allowed_message_does_not_make_its_readers_slow_consumers(gateway_factory):
    # outbound_queue_bytes 16 KiB passes start-up next to the default 64 KiB max_message_bytes. A
    # 20 KB message is allowed, but its event alone is over the outbound cap, so the sender and
    # everyone else in the session, all reading promptly, are closed as slow consumers. Start-up
    # should refuse the pair (or the cap allow for one whole event).
    gw = gateway_factory({"server": {"outbound_queue_bytes": 16384}})
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    await c.message(s, "m1", "x" * 20000)
    end = (await c.recv_turn())[-1]
    assert end["finish"] == "stop", end
    await c.close()
