"""Malformed input: bad_request / not_joined errors keep the connection; framing violations close it."""

from __future__ import annotations

import json

import pytest

from harness import WSClient, unique

BAD_REQUESTS = {
    "invalid-json": "{not json",
    "truncated-json": '{"type":"join","session":"x"',
    "json-array": "[1,2,3]",
    "json-string": '"hello"',
    "json-number": "42",
    "empty": "",
    "missing-type": json.dumps({"session": "x"}),
    "type-not-string": json.dumps({"type": 5}),
    "unknown-type": json.dumps({"type": "frobnicate"}),
    "join-missing-session": json.dumps({"type": "join"}),
    "join-session-not-string": json.dumps({"type": "join", "session": 5}),
    "join-after-seq-string": json.dumps({"type": "join", "session": "x", "after_seq": "3"}),
    "join-after-seq-float": json.dumps({"type": "join", "session": "x", "after_seq": 1.5}),
    "message-missing-id": json.dumps({"type": "message", "session": "x", "text": "hi"}),
    "message-missing-text": json.dumps({"type": "message", "session": "x", "id": "m"}),
    "message-text-not-string": json.dumps({"type": "message", "session": "x", "id": "m", "text": 5}),
    "message-id-not-string": json.dumps({"type": "message", "session": "x", "id": 7, "text": "hi"}),
    "stop-missing-session": json.dumps({"type": "stop"}),
    "leave-session-null": json.dumps({"type": "leave", "session": None}),
}


@pytest.mark.parametrize("raw", list(BAD_REQUESTS.values()), ids=list(BAD_REQUESTS.keys()))
async def test_bad_request_keeps_connection(gateway, raw):
    c = await WSClient.open(gateway.ws_url)
    # Join "x" first so that message/stop/leave frames are judged on their shape, not on not_joined.
    await c.join("x-" + unique())
    await c.send_raw(raw)
    err = await c.expect("error")
    assert err["code"] == "bad_request", f"{raw!r} -> {err}"
    assert isinstance(err["message"], str) and err["message"]
    # The connection stays up and a following valid frame works.
    s = unique()
    joined = await c.join(s)
    assert joined["session"] == s and joined["seq"] == 0
    await c.close()


async def test_bad_request_on_joined_session_fields(gateway):
    """Missing fields on a session this connection has joined are still bad_request."""
    c = await WSClient.open(gateway.ws_url)
    s = unique()
    await c.join(s)
    for frame in ({"type": "message", "session": s, "id": "m"},
                  {"type": "message", "session": s, "text": "t"},
                  {"type": "message", "session": s, "id": "m", "text": ["t"]}):
        await c.send(frame)
        err = await c.expect("error")
        assert err["code"] == "bad_request", (frame, err)
    await c.message(s, "m", "valid")
    assert (await c.expect("ack"))["seq"] == 1, "bad frames must not have appended anything"
    await c.recv_turn()
    await c.close()


@pytest.mark.parametrize("frame", [
    {"type": "message", "id": "m1", "text": "hi"},
    {"type": "stop"},
    {"type": "leave"},
], ids=["message", "stop", "leave"])
async def test_not_joined(gateway, frame):
    c = await WSClient.open(gateway.ws_url)
    s = unique()
    await c.send({**frame, "session": s})
    err = await c.expect("error")
    assert err["code"] == "not_joined", err
    # still up; and nothing was appended to the session
    joined = await c.join(s)
    assert joined["seq"] == 0, joined
    await c.close()


async def test_not_joined_after_leave_and_other_session(gateway):
    c = await WSClient.open(gateway.ws_url)
    s, other = unique(), unique()
    await c.join(s)
    await c.message(other, "m1", "wrong session")
    assert (await c.expect("error"))["code"] == "not_joined"
    await c.send({"type": "leave", "session": s})
    await c.expect_nothing(0.2)
    await c.message(s, "m2", "after leave")
    assert (await c.expect("error"))["code"] == "not_joined"
    await c.close()


async def test_left_connection_gets_no_more_events(gateway):
    a = await WSClient.open(gateway.ws_url)
    b = await WSClient.open(gateway.ws_url)
    s = unique()
    await a.join(s)
    await b.join(s)
    await b.send({"type": "leave", "session": s})
    await b.expect_nothing(0.2)
    await a.message(s, "m1", "hi")
    await a.recv_turn()
    await b.expect_nothing(0.3)
    await a.close()
    await b.close()


async def test_binary_frame_closes_1003(gateway):
    c = await WSClient.open(gateway.ws_url)
    await c.send_raw(b'{"type":"join","session":"x"}')
    code, reason, frames = await c.expect_close()
    assert code == 1003, f"expected 1003, got {code} {reason!r}; frames {frames}"


async def test_binary_frame_before_hello_closes(gateway):
    c = await WSClient.connect(gateway.ws_url)
    await c.send_raw(b"\x00\x01")
    code, reason, _ = await c.expect_close()
    assert code in (1003, 4001), f"got {code} {reason!r}"


async def test_invalid_utf8_text_closes_1007(gateway):
    c = await WSClient.open(gateway.ws_url)
    await c.send_raw(b'{"type":"join","session":"\xff\xfe"}', text=True)
    code, reason, frames = await c.expect_close()
    assert code == 1007, f"expected 1007, got {code} {reason!r}; frames {frames}"


async def test_invalid_utf8_split_across_fragments_closes_1007(gateway):
    c = await WSClient.open(gateway.ws_url)
    # 0xE2 0x82 0xAC is a valid euro sign split across frames; 0xE2 0x28 is not valid.
    await c.ws.send([b'{"type":"join","session":"\xe2', b'\x28"}'], text=True)
    code, reason, _ = await c.expect_close()
    assert code == 1007, f"expected 1007, got {code} {reason!r}"


async def test_valid_utf8_split_across_fragments_is_fine(gateway):
    c = await WSClient.open(gateway.ws_url)
    s = "€-" + unique()
    raw = json.dumps({"type": "join", "session": s}, ensure_ascii=False).encode()
    cut = raw.index("€".encode()) + 1  # inside the 3-byte sequence
    await c.ws.send([raw[:cut], raw[cut:]], text=True)
    joined = await c.expect("joined")
    assert joined["session"] == s
    await c.close()


def _message_of_size(session: str, size: int) -> str:
    base = json.dumps({"type": "message", "session": session, "id": "big", "text": ""})
    pad = size - len(base.encode())
    assert pad >= 0
    return json.dumps({"type": "message", "session": session, "id": "big", "text": "a" * pad})


async def test_message_at_limit_is_accepted(gateway_factory):
    gw = gateway_factory({"server": {"max_message_bytes": 4096}})
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    raw = _message_of_size(s, 4096)
    assert len(raw.encode()) == 4096
    await c.send_raw(raw)
    ack = await c.expect("ack")
    assert ack["seq"] == 1
    await c.recv_turn()
    await c.close()


async def test_message_over_limit_closes_1009(gateway_factory):
    gw = gateway_factory({"server": {"max_message_bytes": 4096}})
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    await c.send_raw(_message_of_size(s, 4097))
    code, reason, frames = await c.expect_close()
    assert code == 1009, f"expected 1009, got {code} {reason!r}; frames {frames}"
    # Nothing was appended.
    probe = await WSClient.open(gw.ws_url)
    assert (await probe.join(s))["seq"] == 0
    await probe.close()


async def test_fragmented_message_over_limit_closes_1009(gateway_factory):
    gw = gateway_factory({"server": {"max_message_bytes": 4096}})
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    raw = _message_of_size(s, 6000)
    await c.ws.send([raw[i:i + 1000] for i in range(0, len(raw), 1000)])
    code, reason, _ = await c.expect_close()
    assert code == 1009, f"expected 1009, got {code} {reason!r}"


async def test_default_message_limit_is_64k(gateway):
    c = await WSClient.open(gateway.ws_url)
    s = unique()
    await c.join(s)
    await c.send_raw(_message_of_size(s, 65536))
    assert (await c.expect("ack"))["seq"] == 1
    await c.recv_turn()
    await c.send_raw(_message_of_size(s, 65537))
    code, reason, _ = await c.expect_close()
    assert code == 1009, f"expected 1009, got {code} {reason!r}"


async def test_many_frames_handled_in_order(gateway):
    """A burst of frames gets answers in the order sent."""
    c = await WSClient.open(gateway.ws_url)
    sessions = [unique(f"o{i}") for i in range(20)]
    for s in sessions:
        await c.send({"type": "join", "session": s})
        await c.send_raw("nope")
    got = []
    for _ in sessions:
        got.append(await c.recv())
        got.append(await c.recv())
    assert [f["type"] for f in got] == ["joined", "error"] * 20, got
    assert [f["session"] for f in got if f["type"] == "joined"] == sessions
    await c.close()
