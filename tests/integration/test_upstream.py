"""Turns streamed from the scripted OpenAI-compatible upstream: faults, context, stop/cancel, fan-out, overload."""

from __future__ import annotations

import asyncio
import time

import pytest

from harness import (WSClient, assert_contiguous, is_event, normalize, turn_text, unique,
                      upstream_model_config)


def events_of(frames: list[dict]) -> list[dict]:
    return [f for f in frames if is_event(f)]


async def start_turn(gw, text: str, session: str | None = None):
    """Open a client, join a fresh session and send one message; returns (client, session)."""
    s = session or unique()
    c = await WSClient.open(gw.ws_url)
    await c.join(s)
    await c.message(s, "m1", text)
    return c, s


def single_turn(frames: list[dict]) -> tuple[dict, list[dict], dict]:
    """(turn.start, deltas, turn.end) of a frame list holding exactly one turn."""
    evs = events_of(frames)
    assert_contiguous(evs, evs[0]["seq"])
    starts = [e for e in evs if e["type"] == "turn.start"]
    ends = [e for e in evs if e["type"] == "turn.end"]
    assert len(starts) == 1 and len(ends) == 1, evs
    assert ends[0] is evs[-1]
    deltas = [e for e in evs if e["type"] == "turn.delta"]
    for d in deltas:
        assert d["turn"] == starts[0]["turn"]
    assert ends[0]["turn"] == starts[0]["turn"]
    return starts[0], deltas, ends[0]


def check_usage(usage: dict, estimated: bool | None = None) -> None:
    assert type(usage["input_tokens"]) is int and usage["input_tokens"] >= 0, usage
    assert type(usage["output_tokens"]) is int and usage["output_tokens"] >= 0, usage
    assert type(usage["estimated"]) is bool, usage
    if estimated is not None:
        assert usage["estimated"] is estimated, usage


# --------------------------------------------------------------------------- normal stream


async def test_upstream_ok_stream_with_real_usage(gateway_factory, scripted_upstream):
    gw = gateway_factory(upstream_model_config(scripted_upstream, "ok:tokens=12:delay_ms=5"))
    text = unique("ok")
    c, s = await start_turn(gw, text)
    frames = await c.recv_turn()
    ack = [f for f in frames if f["type"] == "ack"]
    assert ack and ack[0]["seq"] == 1
    start, deltas, end = single_turn(frames)
    assert start["model"], start
    assert end["finish"] == "stop", end
    assert not end.get("error"), end
    check_usage(end["usage"], estimated=False)
    assert end["usage"]["output_tokens"] > 0 and end["usage"]["input_tokens"] > 0
    assert turn_text(deltas)
    req = scripted_upstream.find_request(text)
    assert req["model"] == "ok:tokens=12:delay_ms=5"
    done = scripted_upstream.wait_closed(req["id"], timeout_ms=2000)
    assert done["outcome"] == "completed", done
    await c.close()


@pytest.mark.parametrize("model,finish,code,partial_text", [
    ("truncate:after=3", "error", "upstream_truncated", True),
    ("http-500", "error", "upstream_http", False),
    ("inband-error:after=3", "error", "upstream_error", True),
    ("length", "length", None, True),
    ("nousage", "stop", None, True),
], ids=["truncate", "http-500", "inband-error", "length", "nousage"])
async def test_upstream_outcomes_relayed(gateway_factory, scripted_upstream, model, finish, code, partial_text):
    gw = gateway_factory(upstream_model_config(scripted_upstream, model))
    c, s = await start_turn(gw, unique(model))
    frames = await c.recv_turn()
    errors = [f for f in frames if f["type"] == "error"]
    assert not errors, f"upstream problems belong in turn.end, not in error frames: {errors}"
    start, deltas, end = single_turn(frames)
    assert end["finish"] == finish, end
    if code is None:
        assert not end.get("error"), end
    else:
        assert end["error"]["code"] == code, end
        assert isinstance(end["error"]["message"], str) and end["error"]["message"], end
    if partial_text:
        assert turn_text(deltas), "text received before the upstream stopped must be relayed"
    else:
        assert not deltas
    check_usage(end["usage"], estimated=True if model == "nousage" else None)
    if model == "nousage":
        assert end["usage"]["output_tokens"] > 0, "estimated usage must count the streamed text"
    await c.expect_nothing(0.3)  # exactly one turn.end
    await c.close()


async def test_upstream_http_429_is_an_error_turn(gateway_factory, scripted_upstream):
    gw = gateway_factory(upstream_model_config(scripted_upstream, "http-429"))
    c, s = await start_turn(gw, unique("429"))
    _, deltas, end = single_turn(await c.recv_turn())
    assert end["finish"] == "error" and end["error"]["code"].startswith("upstream"), end
    assert not deltas
    await c.close()


@pytest.mark.async_timeout(20)
async def test_upstream_stall_times_out(gateway_factory, scripted_upstream):
    gw = gateway_factory(upstream_model_config(scripted_upstream, "stall:after=2", timeout_s=1))
    c, s = await start_turn(gw, unique("stall"))
    t0 = time.monotonic()
    _, deltas, end = single_turn(await c.recv_turn(timeout=10))
    assert end["finish"] == "error" and end["error"]["code"] == "upstream_timeout", end
    assert turn_text(deltas), "the 2 chunks before the stall must be relayed"
    assert time.monotonic() - t0 < 5
    await c.close()


async def test_upstream_unreachable_is_an_error_turn(gateway_factory):
    from harness import free_port
    dead = free_port()
    gw = gateway_factory({"llm": {"default_model": "up", "models": {"up": {
        "provider": "openai", "base_url": f"http://127.0.0.1:{dead}/v1", "model": "x",
        "connect_timeout_ms": 1000}}}})
    c, s = await start_turn(gw, "hello")
    _, deltas, end = single_turn(await c.recv_turn(timeout=10))
    assert end["finish"] == "error" and end["error"]["code"].startswith("upstream"), end
    await c.close()


async def test_split_stream_is_reassembled(gateway_factory, scripted_upstream):
    """`split` sends the SSE stream in awkward pieces; the text must come through whole."""
    gw_ok = gateway_factory(upstream_model_config(scripted_upstream, "split"))
    c, s = await start_turn(gw_ok, unique("split"))
    _, deltas, end = single_turn(await c.recv_turn())
    assert end["finish"] == "stop", end
    assert turn_text(deltas)
    await c.close()


# --------------------------------------------------------------------------- context sent upstream


async def test_echo_shows_system_prompt_and_history_sent_upstream(gateway_factory, scripted_upstream):
    system = "You are the integration-test assistant " + unique()
    cfg = upstream_model_config(scripted_upstream, "echo")
    cfg["llm"]["system_prompt"] = system
    gw = gateway_factory(cfg)
    s = unique()
    c = await WSClient.open(gw.ws_url)
    await c.join(s)
    q1, q2 = unique("first question"), unique("second question")

    await c.message(s, "m1", q1)
    _, d1, end1 = single_turn(await c.recv_turn())
    assert end1["finish"] == "stop", end1
    reply1 = turn_text(d1)
    assert q1 in reply1, f"echo replies with the last user message: {reply1!r}"

    await c.message(s, "m2", q2)
    _, d2, end2 = single_turn(await c.recv_turn())
    assert q2 in turn_text(d2)

    req = scripted_upstream.find_request(q2)
    msgs = [(m["role"], m["content"]) for m in req["messages"]]
    assert msgs == [("system", system), ("user", q1), ("assistant", reply1), ("user", q2)], msgs
    await c.close()


# --------------------------------------------------------------------------- stop / abandon


async def _wait_first_delta(c: WSClient) -> list[dict]:
    return await c.recv_until(lambda f: f["type"] == "turn.delta", timeout=10)


@pytest.mark.async_timeout(20)
async def test_stop_cancels_turn_and_closes_upstream(gateway_factory, scripted_upstream):
    gw = gateway_factory(upstream_model_config(scripted_upstream, "slow"))
    text = unique("stop")
    c, s = await start_turn(gw, text)
    before = await _wait_first_delta(c)
    req = scripted_upstream.find_request(text)
    await c.send({"type": "stop", "session": s})
    t_stop = time.time()
    frames = before + await c.recv_turn(timeout=5)
    t_end = time.time()
    _, deltas, end = single_turn(frames)
    assert end["finish"] == "cancelled", end
    check_usage(end["usage"])
    assert t_end - t_stop < 1.0, f"turn.end came {t_end - t_stop:.3f} s after stop"
    closed = scripted_upstream.wait_closed(req["id"], timeout_ms=2000)
    assert closed["outcome"] == "client_closed", closed
    closed_at = float(closed["closed_at"])
    if closed_at > 1e11:  # milliseconds
        closed_at /= 1000.0
    assert closed_at - t_stop <= 0.2, f"upstream connection closed {closed_at - t_stop:.3f} s after stop"
    # The session is free again.
    await c.expect_nothing(0.2)
    await c.send({"type": "stop", "session": s})  # no active turn: a no-op
    await c.expect_nothing(0.3)
    await c.close()


async def test_stop_without_active_turn_is_noop(gateway):
    c = await WSClient.open(gateway.ws_url)
    s = unique()
    await c.join(s)
    await c.send({"type": "stop", "session": s})
    await c.expect_nothing(0.3)
    await c.message(s, "m1", "after stop")
    assert (await c.expect("ack"))["seq"] == 1
    await c.recv_turn()
    await c.close()


@pytest.mark.async_timeout(20)
async def test_disconnecting_one_tab_is_not_a_stop(gateway_factory, scripted_upstream):
    gw = gateway_factory(upstream_model_config(scripted_upstream, "ok:tokens=20:delay_ms=25"))
    text = unique("tab")
    s = unique()
    b = await WSClient.open(gw.ws_url)
    await b.join(s)
    a, _ = await start_turn(gw, text, session=s)
    await _wait_first_delta(a)
    await a.ws.close()
    _, deltas, end = single_turn(await b.recv_turn(timeout=10))
    assert end["finish"] == "stop", end
    req = scripted_upstream.find_request(text)
    done = scripted_upstream.wait_closed(req["id"], timeout_ms=3000)
    assert done["outcome"] == "completed", done
    await b.close()


@pytest.mark.async_timeout(20)
async def test_last_subscriber_leaving_without_cancel_on_abandon_continues(gateway_factory, scripted_upstream):
    gw = gateway_factory(upstream_model_config(scripted_upstream, "ok:tokens=10:delay_ms=30"))
    text = unique("abandon-off")
    a, s = await start_turn(gw, text)
    await _wait_first_delta(a)
    await a.ws.close()
    req = scripted_upstream.find_request(text)
    done = scripted_upstream.wait_closed(req["id"], timeout_ms=3000)
    assert done["outcome"] == "completed", done
    b = await WSClient.open(gw.ws_url)
    await b.join(s)
    replay = await b.recv_until(lambda f: f["type"] == "turn.end", timeout=5)
    assert replay[-1]["finish"] == "stop", replay[-1]
    await b.close()


@pytest.mark.async_timeout(20)
@pytest.mark.parametrize("how", ["disconnect", "leave"])
async def test_cancel_on_abandon_cancels_when_last_subscriber_leaves(gateway_factory, scripted_upstream, how):
    cfg = upstream_model_config(scripted_upstream, "slow")
    cfg["sessions"] = {"cancel_on_abandon": True}
    gw = gateway_factory(cfg)
    text = unique("abandon")
    a, s = await start_turn(gw, text)
    await _wait_first_delta(a)
    req = scripted_upstream.find_request(text)
    t0 = time.time()
    if how == "leave":
        await a.send({"type": "leave", "session": s})
    else:
        await a.ws.close()
    closed = scripted_upstream.wait_closed(req["id"], timeout_ms=2000)
    assert closed["outcome"] == "client_closed", closed
    b = await WSClient.open(gw.ws_url)
    await b.join(s)
    replay = await b.recv_until(lambda f: f["type"] == "turn.end", timeout=5)
    assert replay[-1]["finish"] == "cancelled", replay[-1]
    assert_contiguous([f for f in replay if is_event(f)], 1)
    await b.close()
    if how == "leave":
        await a.close()


@pytest.mark.async_timeout(20)
async def test_cancel_on_abandon_keeps_turn_while_another_subscriber_remains(gateway_factory, scripted_upstream):
    cfg = upstream_model_config(scripted_upstream, "ok:tokens=10:delay_ms=30")
    cfg["sessions"] = {"cancel_on_abandon": True}
    gw = gateway_factory(cfg)
    s = unique()
    b = await WSClient.open(gw.ws_url)
    await b.join(s)
    a, _ = await start_turn(gw, unique("abandon-other"), session=s)
    await _wait_first_delta(a)
    await a.ws.close()
    _, _, end = single_turn(await b.recv_turn(timeout=10))
    assert end["finish"] == "stop", end
    await b.close()


# --------------------------------------------------------------------------- fan-out with a real stream


@pytest.mark.async_timeout(20)
async def test_two_subscribers_identical_with_upstream(gateway_factory, scripted_upstream):
    gw = gateway_factory(upstream_model_config(scripted_upstream, "ok:tokens=30:delay_ms=5"))
    s = unique()
    a = await WSClient.open(gw.ws_url)
    b = await WSClient.open(gw.ws_url)
    await a.join(s)
    await b.join(s)
    for i in range(2):
        await a.message(s, f"m{i}", unique(f"fanout{i}"))
        ea = events_of(await a.recv_turn())
        eb = events_of(await b.recv_turn())
        assert normalize(ea) == normalize(eb)
        assert turn_text(ea) and turn_text(ea) == turn_text(eb)
    await a.close()
    await b.close()


# --------------------------------------------------------------------------- overload


@pytest.mark.async_timeout(20)
async def test_overloaded_when_worker_queue_full(gateway_factory, scripted_upstream):
    cfg = upstream_model_config(scripted_upstream, "ok:tokens=10:delay_ms=50")  # ~0.5 s per turn
    cfg["workers"] = {"concurrency": 1, "queue_size": 1}
    gw = gateway_factory(cfg)
    clients, sessions = [], []
    for i in range(3):
        c = await WSClient.open(gw.ws_url)
        s = unique(f"ov{i}")
        await c.join(s)
        clients.append(c)
        sessions.append(s)
    c1, c2, c3 = clients
    await c1.message(sessions[0], "m1", "one")
    assert (await c1.expect("ack"))["seq"] == 1
    await c2.message(sessions[1], "m2", "two")
    assert (await c2.expect("ack"))["seq"] == 1
    await c3.message(sessions[2], "m3", "three")
    err = await c3.expect("error")
    assert err["code"] == "overloaded", err
    if "ref" in err:
        assert err["ref"] == "m3"
    for c in (c1, c2):
        _, _, end = single_turn(await c.recv_turn(timeout=10))
        assert end["finish"] == "stop", end
    await c3.expect_nothing(0.1)  # not appended, not acked
    # The overloaded message was not appended: the session log is still empty ...
    probe = await WSClient.open(gw.ws_url)
    joined = await probe.join(sessions[2])
    assert joined["seq"] == 0, joined
    # ... and its id is unused: once there is room the same id is accepted.
    await c3.message(sessions[2], "m3", "three")
    assert (await c3.expect("ack"))["seq"] == 1
    _, _, end = single_turn(await c3.recv_turn(timeout=10))
    assert end["finish"] == "stop"
    for c in (*clients, probe):
        await c.close()


@pytest.mark.async_timeout(90)
async def test_a_stop_racing_the_end_of_a_turn_leaves_the_log_and_the_usage_record_agreeing(
        gateway_factory, scripted_upstream, tmp_path):
    # Stops sent around the moment short turns finish by themselves. Whichever wins, the turn has one
    # turn.end, and it says what the usage record says: the same finish and the same token counts
    # (a turn that completed is not reported as cancelled with input_tokens 0, nor the other way).
    import random
    from harness import usage_lines
    gw = gateway_factory({"usage": {"log_path": str(tmp_path / "usage.jsonl")},
                          "workers": {"concurrency": 16},
                          "llm": {"default_model": "up", "models": {"up": {
                              "provider": "openai", "base_url": scripted_upstream.base_url,
                              "model": "ok:tokens=3:delay_ms=2"}}}})
    rounds, sessions = 60, 8
    ends: dict[str, dict] = {}

    async def racer(k: int) -> None:
        c = await WSClient.open(gw.ws_url)
        s = unique(f"race{k}")
        await c.join(s)
        for i in range(rounds):
            await c.message(s, f"m{i}", "hi")
            await asyncio.sleep(random.uniform(0.002, 0.02))
            await c.send({"type": "stop", "session": s})
            frames = await c.recv_turn(10)
            turn_ends = [f for f in frames if f["type"] == "turn.end"]
            assert len(turn_ends) == 1, frames
            ends[turn_ends[0]["turn"]] = turn_ends[0]
            await c.expect_nothing(0.002)
        await c.close()

    await asyncio.gather(*(racer(k) for k in range(sessions)))
    records = {r["turn"]: r for r in usage_lines(tmp_path, rounds * sessions)}
    assert set(records) == set(ends), "one usage record per turn"
    disagreeing = [(end["finish"], end["usage"], records[turn]["finish"], records[turn]["input_tokens"],
                    records[turn]["output_tokens"], records[turn]["estimated"])
                   for turn, end in ends.items()
                   if (end["finish"], end["usage"]["input_tokens"], end["usage"]["output_tokens"], end["usage"]["estimated"])
                   != (records[turn]["finish"], records[turn]["input_tokens"], records[turn]["output_tokens"],
                       records[turn]["estimated"])]
    assert not disagreeing, f"{len(disagreeing)} turn(s) whose turn.end and usage record disagree: {disagreeing[:3]}"
