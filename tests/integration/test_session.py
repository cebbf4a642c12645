"""join / message / streaming turns / retries / busy / fan-out / resume / snapshot, with the demo model."""

from __future__ import annotations

import asyncio
import time

import pytest

from harness import (WSClient, assert_contiguous, covered, is_event, normalize, turn_text, unique)


def demo(tokens: int, tps: int) -> dict:
    return {"llm": {"models": {"demo": {"provider": "demo", "tokens": tokens, "tokens_per_second": tps}}}}


def events_of(frames: list[dict]) -> list[dict]:
    return [f for f in frames if is_event(f)]


def check_turn_shape(events: list[dict], session: str, first_seq: int, *, mid: str, text: str,
                     author: str, model: str | None = "demo", finish: str = "stop") -> dict:
    """message, turn.start, turn.delta*, turn.end with contiguous seqs from first_seq; returns turn.end."""
    assert_contiguous(events, first_seq)
    msg, start, *deltas, end = events
    now_ms = time.time() * 1000
    assert msg["type"] == "message", msg
    assert msg["session"] == session and msg["seq"] == first_seq
    assert msg["id"] == mid and msg["role"] == "user" and msg["author"] == author and msg["text"] == text, msg
    assert type(msg["ts"]) is int and abs(msg["ts"] - now_ms) < 60_000, f"ts must be epoch ms: {msg}"
    assert start["type"] == "turn.start", start
    assert start["session"] == session and isinstance(start["turn"], str) and start["turn"]
    assert isinstance(start["model"], str) and start["model"]
    if model is not None:
        assert model in start["model"], start
    for d in deltas:
        assert d["type"] == "turn.delta", d
        assert d["session"] == session and d["turn"] == start["turn"]
        assert isinstance(d["text"], str) and d["text"], d
    assert end["type"] == "turn.end", end
    assert end["session"] == session and end["turn"] == start["turn"]
    assert end["finish"] == finish, end
    usage = end["usage"]
    assert type(usage["input_tokens"]) is int and usage["input_tokens"] >= 0, usage
    assert type(usage["output_tokens"]) is int and usage["output_tokens"] >= 0, usage
    assert type(usage["estimated"]) is bool, usage
    if finish == "stop":
        assert "error" not in end or end["error"] is None, end
    return end


async def run_turn(client: WSClient, session: str, mid: str, text: str, timeout: float = 10) -> tuple[dict, list[dict]]:
    """Send a message and read to its turn.end; returns (ack, events)."""
    await client.message(session, mid, text)
    frames = await client.recv_turn(timeout)
    acks = [f for f in frames if f["type"] == "ack"]
    others = [f for f in frames if f["type"] not in ("ack",) and not is_event(f)]
    assert not others, f"unexpected frames during the turn: {others}"
    assert len(acks) == 1, f"expected one ack, got {acks}"
    assert acks[0]["id"] == mid
    return acks[0], events_of(frames)


# --------------------------------------------------------------------------- basics


async def test_join_new_session(gateway):
    c = await WSClient.open(gateway.ws_url)
    s = unique()
    joined = await c.join(s)
    # No after_seq: nothing is being recovered (docs/protocol.md), even though the replay of an
    # untrimmed log is exact (and empty here).
    assert joined == {**joined, "type": "joined", "session": s, "seq": 0, "recovered": False}, joined
    await c.expect_nothing(0.3)
    await c.close()


async def test_message_streams_a_turn(gateway):
    c = await WSClient.open(gateway.ws_url)
    s = unique()
    await c.join(s)
    ack, events = await run_turn(c, s, "m1", "hello gateway")
    assert ack["seq"] == 1, ack
    end = check_turn_shape(events, s, 1, mid="m1", text="hello gateway", author=c.welcome["user"])
    deltas = [e for e in events if e["type"] == "turn.delta"]
    assert deltas, "a demo turn must stream at least one delta"
    assert end["usage"]["output_tokens"] > 0
    await c.expect_nothing(0.2)

    # A second turn continues the same numbering.
    ack2, events2 = await run_turn(c, s, "m2", "again")
    assert ack2["seq"] == end["seq"] + 1
    check_turn_shape(events2, s, end["seq"] + 1, mid="m2", text="again", author=c.welcome["user"])
    assert events2[1]["turn"] != events[1]["turn"], "each turn gets its own id"
    await c.close()


async def test_ack_seq_is_the_message_event_seq(gateway):
    """The ack's seq is the seq of the message event the sender receives."""
    c = await WSClient.open(gateway.ws_url)
    s = unique()
    await c.join(s)
    await c.message(s, "abc", "x")
    frames = await c.recv_turn()
    ack = next(f for f in frames if f["type"] == "ack")
    msg = next(f for f in frames if f["type"] == "message")
    assert ack["seq"] == msg["seq"] == 1 and msg["id"] == "abc"
    await c.close()


async def test_join_without_after_seq_replays_whole_untrimmed_log(gateway):
    a = await WSClient.open(gateway.ws_url)
    s = unique()
    await a.join(s)
    _, events = await run_turn(a, s, "m1", "first")
    last = events[-1]["seq"]
    b = await WSClient.open(gateway.ws_url)
    joined = await b.join(s)
    assert joined["seq"] == last and joined["recovered"] is False, joined
    replay = await b.recv_until(lambda f: f.get("seq") == last and f["type"] == "turn.end")
    assert all(is_event(f) for f in replay), replay
    assert_contiguous(replay, 1)
    assert normalize(replay) == normalize(events)
    await b.expect_nothing(0.3)
    await a.close()
    await b.close()


async def test_join_after_last_seq_replays_nothing(gateway):
    a = await WSClient.open(gateway.ws_url)
    s = unique()
    await a.join(s)
    _, events = await run_turn(a, s, "m1", "first")
    last = events[-1]["seq"]
    b = await WSClient.open(gateway.ws_url)
    joined = await b.join(s, after_seq=last)
    assert joined["seq"] == last and joined["recovered"] is True, joined
    await b.expect_nothing(0.3)
    # and live events follow
    _, events2 = await run_turn(a, s, "m2", "second")
    got = await b.recv_turn()
    assert normalize(got) == normalize(events2)
    await a.close()
    await b.close()


# --------------------------------------------------------------------------- ids, busy


async def test_repeated_message_id_returns_original_ack(gateway):
    c = await WSClient.open(gateway.ws_url)
    s = unique()
    await c.join(s)
    ack, events = await run_turn(c, s, "m1", "once")
    last = events[-1]["seq"]
    await c.message(s, "m1", "once")
    again = await c.expect("ack")
    assert again["id"] == "m1" and again["seq"] == ack["seq"] == 1, again
    await c.expect_nothing(0.3)  # not appended, no new turn
    ack2, events2 = await run_turn(c, s, "m2", "next")
    assert ack2["seq"] == last + 1, "the retry must not have appended anything"
    # Another connection of another user retrying the same id in this session also gets the original ack.
    d = await WSClient.open(gateway.ws_url)
    await d.join(s, after_seq=events2[-1]["seq"])
    await d.message(s, "m1", "once")
    assert (await d.expect("ack"))["seq"] == 1
    await c.close()
    await d.close()


async def test_repeated_message_id_during_its_turn_is_acked_not_busy(gateway_factory):
    gw = gateway_factory(demo(20, 100))
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    await c.message(s, "m1", "retry me")
    await c.message(s, "m1", "retry me")  # a client retrying before it saw the ack
    frames = await c.recv_turn()
    acks = [f for f in frames if f["type"] == "ack"]
    errors = [f for f in frames if f["type"] == "error"]
    assert not errors, f"a retry of the active turn's own message is not busy: {errors}"
    assert [a["seq"] for a in acks] == [1, 1], acks
    evs = events_of(frames)
    assert [e["type"] for e in evs].count("message") == 1
    assert_contiguous(evs, 1)
    await c.close()


async def test_message_during_active_turn_is_busy(gateway_factory):
    gw = gateway_factory(demo(20, 100))  # ~0.2 s turn
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    await c.message(s, "m1", "first")
    first = await c.recv()
    assert first["type"] in ("ack", "message"), first
    await c.message(s, "m2", "second")
    frames = [first] + await c.recv_turn()
    errors = [f for f in frames if f["type"] == "error"]
    assert len(errors) == 1 and errors[0]["code"] == "busy", frames
    if "ref" in errors[0]:
        assert errors[0]["ref"] == "m2"
    assert [f["id"] for f in frames if f["type"] == "ack"] == ["m1"], "busy message must not be acked"
    evs = events_of(frames)
    assert [e["id"] for e in evs if e["type"] == "message"] == ["m1"], "busy message must not be appended"
    assert_contiguous(evs, 1)
    end_seq = evs[-1]["seq"]
    # Its id stays unused: the same id is accepted once the turn has ended.
    ack, evs2 = await run_turn(c, s, "m2", "second")
    assert ack["seq"] == end_seq + 1
    assert evs2[0]["text"] == "second"
    await c.close()


async def test_busy_applies_across_connections(gateway_factory):
    gw = gateway_factory(demo(20, 100))
    a = await WSClient.open(gw.ws_url)
    b = await WSClient.open(gw.ws_url)
    s = unique()
    await a.join(s)
    await b.join(s)
    await a.message(s, "ma", "from a")
    await a.expect("ack")
    await b.message(s, "mb", "from b")
    frames = await b.recv_turn()
    errors = [f for f in frames if f["type"] == "error"]
    assert [e["code"] for e in errors] == ["busy"], frames
    assert not [f for f in frames if f["type"] == "ack"]
    await a.recv_turn()
    await a.close()
    await b.close()


# --------------------------------------------------------------------------- fan-out


async def test_two_subscribers_see_identical_sequences_demo(gateway_factory):
    gw = gateway_factory(demo(40, 400))
    a = await WSClient.open(gw.ws_url)
    b = await WSClient.open(gw.ws_url)
    s = unique()
    await a.join(s)
    await b.join(s)
    for i in range(3):
        await a.message(s, f"m{i}", f"turn {i}")
        fa = await a.recv_turn()
        fb = await b.recv_turn()
        assert [f for f in fb if not is_event(f)] == [], f"b got non-events: {fb}"
        ea, eb = events_of(fa), events_of(fb)
        assert normalize(ea) == normalize(eb)
        assert turn_text(ea) == turn_text(eb) and turn_text(ea)
    await a.close()
    await b.close()


# --------------------------------------------------------------------------- resume


@pytest.mark.async_timeout(20)
async def test_disconnect_mid_turn_and_resume_with_after_seq(gateway_factory):
    gw = gateway_factory(demo(40, 80))  # ~0.5 s turn
    s = unique()
    observer = await WSClient.open(gw.ws_url)
    await observer.join(s)
    a = await WSClient.open(gw.ws_url)
    await a.join(s)
    await a.message(s, "m1", "resume me")
    got: list[dict] = []
    ndeltas = 0
    while ndeltas < 3:
        f = await a.recv()
        if is_event(f):
            got.append(f)
            ndeltas += f["type"] == "turn.delta"
    k = got[-1]["seq"]
    await a.close()

    a2 = await WSClient.open(gw.ws_url)
    joined = await a2.join(s, after_seq=k)
    assert joined["recovered"] is True, joined
    assert joined["seq"] >= k
    rest = await a2.recv_turn()
    assert all(is_event(f) for f in rest), rest
    assert_contiguous(rest, k + 1)
    # The replay (up to joined.seq) is exactly there, then live events continue.
    assert rest[-1]["seq"] >= joined["seq"]
    assert any(joined["seq"] in covered(f) for f in rest) or joined["seq"] == k

    full = events_of(await observer.recv_turn())
    assert_contiguous(full, 1)
    assert normalize(got + rest) == normalize(full)
    assert turn_text(got) + turn_text(rest) == turn_text(full)
    await a2.expect_nothing(0.2)
    await observer.close()
    await a2.close()


async def test_resume_after_turn_ended_gives_exactly_the_rest(gateway):
    s = unique()
    a = await WSClient.open(gateway.ws_url)
    await a.join(s)
    _, events = await run_turn(a, s, "m1", "x")
    last = events[-1]["seq"]
    k = 3
    b = await WSClient.open(gateway.ws_url)
    joined = await b.join(s, after_seq=k)
    assert joined["seq"] == last and joined["recovered"] is True, joined
    rest = await b.recv_until(lambda f: f.get("seq") == last)
    assert all(is_event(f) for f in rest)
    assert_contiguous(rest, k + 1)
    expected_rest = [e for e in events if e["seq"] > k]
    assert turn_text(rest) == turn_text(expected_rest)
    await b.expect_nothing(0.3)
    await a.close()
    await b.close()


# --------------------------------------------------------------------------- snapshot


def check_snapshot(snap: dict, session: str, *, user_msgs: list[tuple[str, str, str]]):
    assert snap["type"] == "snapshot" and snap["session"] == session, snap
    assert type(snap["seq"]) is int
    msgs = snap["messages"]
    users = [m for m in msgs if m["role"] == "user"]
    assert [(m["id"], m["text"], m["author"]) for m in users] == user_msgs, msgs
    for m in msgs:
        assert m["role"] in ("user", "assistant"), m
        assert isinstance(m["id"], str) and isinstance(m["text"], str) and isinstance(m["author"], str), m
    return msgs


async def test_snapshot_when_after_seq_is_trimmed(gateway_factory):
    gw = gateway_factory({"sessions": {"max_events": 16}, **demo(20, 400)})
    s = unique()
    a = await WSClient.open(gw.ws_url)
    await a.join(s)
    _, events = await run_turn(a, s, "m1", "question one")
    last = events[-1]["seq"]
    assert last > 17, "the turn must be longer than the log"
    turn = events[1]["turn"]

    b = await WSClient.open(gw.ws_url)
    joined = await b.join(s, after_seq=1)
    assert joined["recovered"] is False and joined["seq"] == last, joined
    snap = await b.expect("snapshot")
    assert snap["seq"] == last
    msgs = check_snapshot(snap, s, user_msgs=[("m1", "question one", a.welcome["user"])])
    assert [m["role"] for m in msgs] == ["user", "assistant"], msgs
    assistant = msgs[1]
    assert assistant["text"] == turn_text(events)
    assert assistant.get("turn") == turn
    assert not assistant.get("streaming", False), "a finished turn is not streaming"
    await b.expect_nothing(0.3)

    # Live events continue after the snapshot.
    _, events2 = await run_turn(a, s, "m2", "question two")
    got = await b.recv_turn()
    assert_contiguous(got, last + 1)
    assert normalize(got) == normalize(events2)
    await a.close()
    await b.close()


async def test_trim_boundary_keeps_exactly_max_events(gateway_factory):
    n = 16
    gw = gateway_factory({"sessions": {"max_events": n}, **demo(20, 400)})
    s = unique()
    a = await WSClient.open(gw.ws_url)
    await a.join(s)
    _, events = await run_turn(a, s, "m1", "q")
    last = events[-1]["seq"]
    # The log keeps the last 16 events: last-15 .. last, so after_seq = last-16 still recovers.
    b = await WSClient.open(gw.ws_url)
    joined = await b.join(s, after_seq=last - n)
    assert joined["recovered"] is True, f"log of max_events={n} must still hold seqs {last - n + 1}..{last}: {joined}"
    replay = await b.recv_until(lambda f: f.get("seq") == last)
    assert_contiguous(replay, last - n + 1)
    c = await WSClient.open(gw.ws_url)
    joined_c = await c.join(s, after_seq=last - n - 1)
    assert joined_c["recovered"] is False, joined_c
    await c.expect("snapshot")
    for x in (a, b, c):
        await x.close()


async def test_join_without_after_seq_on_trimmed_log_gets_snapshot(gateway_factory):
    gw = gateway_factory({"sessions": {"max_events": 16}, **demo(20, 400)})
    s = unique()
    a = await WSClient.open(gw.ws_url)
    await a.join(s)
    _, events = await run_turn(a, s, "m1", "q")
    b = await WSClient.open(gw.ws_url)
    joined = await b.join(s)
    assert joined["recovered"] is False and joined["seq"] == events[-1]["seq"], joined
    snap = await b.expect("snapshot")
    assert snap["seq"] == events[-1]["seq"]
    msgs = check_snapshot(snap, s, user_msgs=[("m1", "q", a.welcome["user"])])
    assert msgs[-1]["role"] == "assistant" and msgs[-1]["text"] == turn_text(events)
    await b.expect_nothing(0.3)
    await a.close()
    await b.close()


async def test_after_seq_beyond_last_gets_snapshot(gateway):
    s = unique()
    a = await WSClient.open(gateway.ws_url)
    await a.join(s)
    _, events = await run_turn(a, s, "m1", "q")
    last = events[-1]["seq"]
    b = await WSClient.open(gateway.ws_url)
    joined = await b.join(s, after_seq=last + 100)
    assert joined["recovered"] is False and joined["seq"] == last, joined
    snap = await b.expect("snapshot")
    assert snap["seq"] == last
    msgs = check_snapshot(snap, s, user_msgs=[("m1", "q", a.welcome["user"])])
    assert msgs[-1]["text"] == turn_text(events)
    await b.expect_nothing(0.3)
    # after_seq beyond last on a brand-new session too
    c = await WSClient.open(gateway.ws_url)
    s2 = unique()
    joined = await c.join(s2, after_seq=5)
    assert joined["recovered"] is False and joined["seq"] == 0, joined
    snap = await c.expect("snapshot")
    assert snap["seq"] == 0 and snap["messages"] == [], snap
    for x in (a, b, c):
        await x.close()


@pytest.mark.async_timeout(20)
async def test_snapshot_mid_turn_then_live_deltas(gateway_factory):
    gw = gateway_factory({"sessions": {"max_events": 16}, **demo(60, 60)})  # ~1 s turn
    s = unique()
    observer = await WSClient.open(gw.ws_url)
    await observer.join(s)
    a = await WSClient.open(gw.ws_url)
    await a.join(s)
    await a.message(s, "m1", "long one")
    seen: list[dict] = []
    while not seen or seen[-1]["seq"] < 20:
        f = await observer.recv()
        assert is_event(f), f
        seen.append(f)
    assert seen[-1]["type"] == "turn.delta", "turn ended too early for a mid-turn snapshot"

    b = await WSClient.open(gw.ws_url)
    joined = await b.join(s, after_seq=1)
    assert joined["recovered"] is False, joined
    snap = await b.expect("snapshot")
    assert snap["seq"] == joined["seq"], (snap["seq"], joined)
    msgs = check_snapshot(snap, s, user_msgs=[("m1", "long one", a.welcome["user"])])
    assert [m["role"] for m in msgs] == ["user", "assistant"], msgs
    streaming = msgs[1]
    assert streaming["streaming"] is True, f"turn still running must be streaming:true: {streaming}"
    assert streaming.get("turn") == seen[1]["turn"]

    live = await b.recv_turn()
    assert all(is_event(f) for f in live), live
    assert_contiguous(live, snap["seq"] + 1)
    full = seen + await observer.recv_turn()
    assert_contiguous(full, 1)
    assert streaming["text"] + turn_text(live) == turn_text(full)
    # The snapshot's text is exactly the deltas up to snap.seq (when no merged frame straddles it).
    if not any(snap["seq"] in covered(f) and covered(f).stop - 1 != snap["seq"] for f in full):
        assert streaming["text"] == turn_text([f for f in full if f["seq"] <= snap["seq"]])
    for x in (observer, a, b):
        await x.close()
