"""Rate limits (config `limits`, docs/protocol.md `rate_limited`) on one node, memory backend:
messages per user, LLM tokens per user settled with the turn's real usage, new connections per
address. A refused message gets `rate_limited` with a plausible `retry_after_ms` and is not appended."""

from __future__ import annotations

import asyncio
import json

from harness import NO_RATE_LIMITS, WSClient, is_event, unique


def limits(**overrides) -> dict:
    """Every limit off but the ones given (BASE_CONFIG switches them all off)."""
    return {"limits": {**NO_RATE_LIMITS, **overrides}}


def demo(tokens: int = 20, tps: int = 400) -> dict:
    return {"llm": {"system_prompt": "Be brief.",
                    "models": {"demo": {"provider": "demo", "tokens": tokens, "tokens_per_second": tps}}}}


async def turn(client: WSClient, session: str, mid: str, text: str = "hi") -> list[dict]:
    """Sends a message and reads to its turn.end; the frames, the ack first."""
    await client.message(session, mid, text)
    frames = await client.recv_turn(10)
    assert frames[0] == {"type": "ack", "id": mid, "seq": frames[0]["seq"]}, frames
    return frames


async def refusal(client: WSClient, session: str, mid: str, text: str = "hi") -> dict:
    await client.message(session, mid, text)
    error = await client.expect("error")
    assert error["code"] == "rate_limited" and error["ref"] == mid, error
    assert type(error["retry_after_ms"]) is int, error
    return error


async def log_of(gw, session: str) -> list[dict]:
    """The session's whole log, as a new subscriber replays it (deltas may come merged)."""
    reader = await WSClient.open(gw.ws_url)
    joined = await reader.join(session)
    events = await reader.recv_until(lambda f: f.get("seq") == joined["seq"]) if joined["seq"] else []
    await reader.close()
    assert all(is_event(e) for e in events), events
    return events


async def test_a_user_sending_too_fast_is_rate_limited_and_nothing_is_appended(gateway_factory):
    # 6 a minute (one every 10 s), 3 in a row.
    gw = gateway_factory({**demo(), **limits(messages_per_minute=6, message_burst=3)})
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    for n in range(1, 4):
        await turn(c, s, f"m{n}")
    error = await refusal(c, s, "m4", "one too many")
    assert 8_000 <= error["retry_after_ms"] <= 10_000, error
    assert "too many messages" in error["message"], error
    await c.expect_nothing(0.3)  # no ack, no turn

    events = await log_of(gw, s)
    assert [e["id"] for e in events if e["type"] == "message"] == ["m1", "m2", "m3"]
    assert not [e for e in events if "one too many" in json.dumps(e)]
    assert [e["type"] for e in events].count("turn.start") == 3
    await c.close()


async def test_the_refused_id_stays_unused_and_passes_once_retry_after_has_passed(gateway_factory):
    gw = gateway_factory({**demo(), **limits(messages_per_minute=60, message_burst=1)})
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    await c.message(s, "m1", "first")
    ack = await c.expect("ack")
    await c.message(s, "m2", "second")  # sent at once: within the second
    seen: list[dict] = []
    await c.recv_until(lambda f: seen.append(f) or (
        any(x["type"] == "error" for x in seen) and any(x["type"] == "turn.end" for x in seen)))
    errors = [f for f in seen if not is_event(f)]
    assert len(errors) == 1 and errors[0]["code"] == "rate_limited" and errors[0]["ref"] == "m2", seen
    error = errors[0]
    assert 0 < error["retry_after_ms"] <= 1_000, error

    await asyncio.sleep(error["retry_after_ms"] / 1000)
    frames = await turn(c, s, "m2", "second")
    assert frames[0]["seq"] > ack["seq"], "a new message, appended now"
    events = await log_of(gw, s)
    assert [(e["id"], e["text"]) for e in events if e["type"] == "message"] == [("m1", "first"), ("m2", "second")]
    await c.close()


async def test_messages_refused_for_another_reason_give_their_place_back(gateway_factory):
    # A turn of a second; messages sent during it are busy, and a busy message costs nothing.
    gw = gateway_factory({**demo(tokens=20, tps=20), **limits(messages_per_minute=6, message_burst=2)})
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    await c.message(s, "m1", "hi")
    await c.expect("ack")
    for n in range(4):
        await c.message(s, f"b{n}", "while busy")
    frames = await c.recv_turn(10)
    errors = [f for f in frames if f["type"] == "error"]
    assert [(e["code"], e["ref"]) for e in errors] == [("busy", f"b{n}") for n in range(4)], errors
    await turn(c, s, "m2")  # the burst's second place is still free
    await refusal(c, s, "m3")
    await c.close()


async def test_llm_tokens_are_reserved_at_admission_and_settled_with_the_real_usage(gateway_factory):
    # 300 tokens a minute (200 ms a token). A message reserves its estimate: the system prompt
    # "Be brief." (3 + 4) and "hi" (1 + 4) plus the 250-token output reserve: 262.
    gw = gateway_factory({**demo(), **limits(llm_tokens_per_minute_per_user=300, llm_output_reserve_tokens=250)})
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)

    first = (await turn(c, s, "m1"))[-1]["usage"]
    assert first == {"input_tokens": 12, "output_tokens": 20, "estimated": False}, first
    # Two reservations (524) would not fit in 300: the second passes only because the first turn's
    # end gave back what it did not use.
    second = (await turn(c, s, "m2"))[-1]["usage"]
    used = first["input_tokens"] + first["output_tokens"] + second["input_tokens"] + second["output_tokens"]
    assert used + 262 > 300, "the second turn's real usage (its history too) was charged"

    error = await refusal(c, s, "m3")
    assert "LLM tokens" in error["message"], error
    owed_ms = (used + 262 - 300) * 200
    assert owed_ms - 2_000 <= error["retry_after_ms"] <= owed_ms, (error, used)
    events = await log_of(gw, s)
    assert [e["id"] for e in events if e["type"] == "message"] == ["m1", "m2"]
    await c.close()


async def test_connections_past_the_per_address_limit_get_the_error_then_4029(gateway_factory):
    gw = gateway_factory(limits(connections_per_minute_per_ip=1, connection_burst=2))
    first = await WSClient.open(gw.ws_url)
    second = await WSClient.open(gw.ws_url)

    third = await WSClient.connect(gw.ws_url)
    code, reason, frames = await third.expect_close()
    assert code == 4029, (code, reason, frames)
    assert len(frames) == 1, frames
    error = json.loads(frames[0])
    assert error["type"] == "error" and error["code"] == "rate_limited" and "ref" not in error, error
    assert "too many new connections" in error["message"], error
    assert 58_000 <= error["retry_after_ms"] <= 60_000, error

    for client in (first, second):  # the connections that got in are not touched
        s = unique()
        await client.join(s)
        await client.close()
