"""A chat.v1 connection for the multi-node suite whose frames are read in the background, so a test can
watch several connections on several nodes at once and wait for conditions on what each received.

Every frame is kept twice: the raw text (for byte-identical comparisons across nodes) and parsed.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Callable

from harness import GatewayProcess, WSClient, covered, is_event, normalize


class Conn:
    def __init__(self, client: WSClient, node: GatewayProcess, label: str):
        self.client = client
        self.node = node
        self.label = label
        self.welcome = client.welcome
        self.raw: list[str] = []
        self.frames: list[dict] = []
        self.times: list[float] = []  # time.monotonic() when each frame arrived
        self.close_code: int | None = None
        self.closed = False
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, node: GatewayProcess, label: str | None = None, **hello) -> "Conn":
        client = await WSClient.connect(node.ws_url)
        await client.hello(**hello)
        return cls(client, node, label or f"{node.name}:{hello.get('user', 'guest')}")

    def __repr__(self) -> str:
        return f"<Conn {self.label}>"

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.client.ws:
                assert isinstance(raw, str), f"{self.label}: binary frame {raw[:80]!r}"
                frame = json.loads(raw)
                async with self._changed:
                    self.raw.append(raw)
                    self.frames.append(frame)
                    self.times.append(time.monotonic())
                    self._changed.notify_all()
        except ConnectionClosed as e:
            self.close_code = e.rcvd.code if e.rcvd else None
        except Exception as e:  # a dropped transport, etc.: the connection is over either way
            self.close_code = None
            self.frames.append({"type": "_reader_error", "error": repr(e)})
        finally:
            if self.close_code is None and self.client.ws.close_code is not None:
                self.close_code = self.client.ws.close_code
            async with self._changed:
                self.closed = True
                self._changed.notify_all()

    # ---- sending

    async def send(self, obj: dict) -> None:
        await self.client.send(obj)

    async def join(self, session: str, after_seq: int | None = None, timeout: float = 5.0) -> dict:
        """Send join and wait for its `joined` (an error for this join fails)."""
        start = len(self.frames)
        msg: dict = {"type": "join", "session": session}
        if after_seq is not None:
            msg["after_seq"] = after_seq
        await self.send(msg)
        _, frame = await self.wait_for(
            lambda f: (f["type"] == "joined" and f.get("session") == session) or f["type"] == "error",
            timeout, f"joined {session}", start=start)
        assert frame["type"] == "joined", f"{self.label}: join {session} answered {frame}"
        return frame

    async def message(self, session: str, mid: str, text: str, timeout: float = 5.0) -> dict:
        """Send a message and return its answer: the `ack` or the `error` naming it (or any error)."""
        start = len(self.frames)
        await self.send({"type": "message", "session": session, "id": mid, "text": text})
        _, frame = await self.wait_for(
            lambda f: (f["type"] == "ack" and f.get("id") == mid) or (f["type"] == "error" and f.get("ref") in (mid, None)),
            timeout, f"answer to message {mid}", start=start)
        return frame

    async def close(self) -> None:
        await self.client.close()
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), 3)
        except (asyncio.TimeoutError, Exception):
            self._reader.cancel()

    def drop(self) -> None:
        """Drop the TCP connection without a close frame (a network failure, a crashed tab)."""
        transport = self.client.ws.transport
        transport.abort()

    # ---- waiting

    async def wait_for(self, pred: Callable[[dict], bool], timeout: float, what: str,
                       start: int = 0) -> tuple[int, dict]:
        """The first frame at index >= start matching pred, waiting up to timeout seconds."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for i in range(start, len(self.frames)):
                    if pred(self.frames[i]):
                        return i, self.frames[i]
                start = max(start, len(self.frames))
                remaining = deadline - time.monotonic()
                if self.closed:
                    raise AssertionError(f"{self.label}: connection closed (code {self.close_code}) while waiting "
                                         f"for {what}; last frames: {self.frames[-8:]}")
                if remaining <= 0:
                    raise AssertionError(f"{self.label}: no {what} within {timeout} s; last frames: {self.frames[-8:]}")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except asyncio.TimeoutError:
                    pass

    async def wait_until(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        """Until cond() holds, re-checked whenever a frame arrives."""
        if not cond():
            await self.wait_for(lambda _f: cond(), timeout, what, start=len(self.frames))

    async def wait_reply(self, session: str, mid: str, timeout: float = 10.0) -> dict:
        """The turn.end of the turn that message `mid` started (its turn.start is the next seq)."""
        _, msg = await self.wait_for(lambda f: f["type"] == "message" and f.get("session") == session
                                     and f.get("id") == mid, timeout, f"message event {mid}")
        _, start = await self.wait_for(lambda f: f["type"] == "turn.start" and f.get("session") == session
                                       and f["seq"] == msg["seq"] + 1, timeout, f"turn.start of {mid}")
        return await self.wait_turn_end(session, start["turn"], timeout)

    async def wait_closed(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not self.closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except asyncio.TimeoutError:
                    pass
            return True

    async def wait_turn_end(self, session: str, turn: str | None = None, timeout: float = 10.0,
                            start: int = 0) -> dict:
        _, frame = await self.wait_for(
            lambda f: f["type"] == "turn.end" and f.get("session") == session and (turn is None or f.get("turn") == turn),
            timeout, f"turn.end in {session}", start=start)
        return frame

    async def wait_seq(self, session: str, seq: int, timeout: float = 10.0) -> None:
        """Until this connection has events of `session` covering `seq`."""
        await self.wait_for(lambda f: is_event(f) and f.get("session") == session and covered(f).stop > seq,
                            timeout, f"event seq {seq} of {session}")

    # ---- views

    def events(self, session: str) -> list[dict]:
        return [f for f in self.frames if is_event(f) and f.get("session") == session]

    def raw_events(self, session: str) -> list[str]:
        return [r for r, f in zip(self.raw, self.frames) if is_event(f) and f.get("session") == session]

    def presence(self, session: str) -> list[dict]:
        return [f for f in self.frames if f["type"] == "presence" and f.get("session") == session]

    def of_type(self, type_: str) -> list[dict]:
        return [f for f in self.frames if f["type"] == type_]

    def last_seq(self, session: str) -> int:
        evs = self.events(session)
        return evs[-1]["seq"] if evs else 0


def assert_identical_events(x: Conn, y: Conn, session: str) -> int:
    """x and y got the same event sequence of `session`, byte for byte: every event both received
    as a frame of its own (every message, turn.start and turn.end, and the deltas neither got
    merged) has the same raw text on both; deltas merged for one of them (a subscriber that fell
    behind, docs/protocol.md "Fan-out") cover the same seqs with the same text. Returns how many
    frames were compared byte for byte."""
    ex, ey = x.events(session), y.events(session)
    assert normalize(ex) == normalize(ey), f"{x} and {y} saw different event sequences"
    rx = {f["seq"]: raw for raw, f in zip(x.raw_events(session), ex) if "from_seq" not in f}
    ry = {f["seq"]: raw for raw, f in zip(y.raw_events(session), ey) if "from_seq" not in f}
    common = sorted(set(rx) & set(ry))
    for seq in common:
        assert rx[seq] == ry[seq], f"seq {seq}: {x} got {rx[seq]!r}, {y} got {ry[seq]!r}"
    return len(common)


async def gather(*aws):
    return await asyncio.gather(*aws)
