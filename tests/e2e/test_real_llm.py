"""End to end against a real LLM server: llama.cpp's llama-server with SmolLM2-135M, as `make run-local-llm`
runs it (`scripts/local-llm.sh ensure-running`). `make test` starts it and sets CHAT_GATEWAY_LLM_URL to its
OpenAI base URL. Without that variable these tests are skipped, except under CI, where they must run."""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request

import pytest

from harness import WSClient, assert_contiguous, is_event, turn_text, unique

LLM_URL = os.environ.get("CHAT_GATEWAY_LLM_URL", "")
UPSTREAM_MODEL = os.environ.get("CHAT_GATEWAY_LLM_MODEL", "smollm2")

if not LLM_URL:
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the end-to-end tests: set CHAT_GATEWAY_LLM_URL (make test does)")
    pytest.skip("CHAT_GATEWAY_LLM_URL is not set (make test starts llama-server and sets it)",
                allow_module_level=True)

# A short reply cap keeps each turn to about a second on 2 cores.
MAX_TOKENS = 40
# A cold llama-server may spend a while on its first prompt; a 2-core machine running the suite is slow.
TURN_TIMEOUT_S = 60.0


def llm_config(**model_extra) -> dict:
    model = {"provider": "openai", "base_url": LLM_URL, "model": UPSTREAM_MODEL, "max_tokens": MAX_TOKENS,
             "timeout_s": 120}
    model.update(model_extra)
    return {"llm": {"default_model": UPSTREAM_MODEL, "models": {UPSTREAM_MODEL: model}}}


def events_of(frames: list[dict]) -> list[dict]:
    return [f for f in frames if is_event(f)]


def assert_one_real_turn(frames: list[dict]) -> tuple[dict, list[dict], dict]:
    evs = events_of(frames)
    assert_contiguous(evs, 1)
    assert [e["type"] for e in evs[:2]] == ["message", "turn.start"], evs[:2]
    deltas = [e for e in evs if e["type"] == "turn.delta"]
    end = evs[-1]
    assert end["type"] == "turn.end", end
    assert sum(1 for e in evs if e["type"] == "turn.end") == 1
    return evs[1], deltas, end


async def test_real_reply_streams_with_upstream_usage(gateway_factory):
    gw = gateway_factory(llm_config())
    s = unique("e2e")
    c = await WSClient.open(gw.ws_url)
    await c.join(s)
    sent = time.monotonic()
    await c.message(s, "m1", "Say hello in one short sentence.")
    frames = await c.recv_turn(TURN_TIMEOUT_S)
    elapsed = time.monotonic() - sent
    start, deltas, end = assert_one_real_turn(frames)
    assert start["model"] == UPSTREAM_MODEL, start
    assert len(deltas) >= 2, f"expected a streamed reply, got {deltas}"
    text = turn_text(deltas)
    assert text.strip(), "the model replied with nothing"
    assert end["finish"] in ("stop", "length"), end
    assert not end.get("error"), end
    usage = end["usage"]
    # llama-server reports real token counts (stream_options.include_usage): nothing estimated.
    assert usage["estimated"] is False, usage
    assert usage["input_tokens"] > 5, usage
    assert 0 < usage["output_tokens"] <= MAX_TOKENS, usage
    if end["finish"] == "length":
        assert usage["output_tokens"] == MAX_TOKENS, usage
    print(f"real turn: {len(deltas)} deltas, {usage}, {elapsed:.2f} s")
    await c.close()


async def test_reply_is_the_text_the_upstream_generates(gateway_factory):
    """The gateway relays the model's text unchanged: with greedy decoding (temperature 0) the same
    conversation through the gateway and straight to llama-server gives the same text."""
    system_prompt = "You are a helpful assistant."
    cfg = llm_config(temperature=0)
    cfg["llm"]["system_prompt"] = system_prompt
    gw = gateway_factory(cfg)
    s = unique("e2e")
    c = await WSClient.open(gw.ws_url)
    await c.join(s)
    prompt = "Name three colours."
    await c.message(s, "m1", prompt)
    _, deltas, end = assert_one_real_turn(await c.recv_turn(TURN_TIMEOUT_S))
    assert end["finish"] in ("stop", "length"), end
    direct = await asyncio.to_thread(direct_completion, [
        {"role": "system", "content": system_prompt}, {"role": "user", "content": prompt}])
    assert turn_text(deltas) == direct
    await c.close()


def direct_completion(messages: list[dict]) -> str:
    """A non-streaming greedy completion straight from the server."""
    body = {"model": UPSTREAM_MODEL, "max_tokens": MAX_TOKENS, "temperature": 0, "stream": False,
            "messages": messages}
    req = urllib.request.Request(LLM_URL.rstrip("/") + "/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=TURN_TIMEOUT_S) as resp:
        return json.loads(resp.read())["choices"][0]["message"]["content"]


async def test_two_sessions_stream_at_the_same_time(gateway_factory):
    gw = gateway_factory(llm_config(max_tokens=MAX_TOKENS))
    clients = []
    for _ in range(2):
        s = unique("e2e-par")
        c = await WSClient.open(gw.ws_url)
        await c.join(s)
        clients.append((c, s))
    arrivals: list[list[tuple[float, str]]] = [[], []]

    async def run(i: int) -> list[dict]:
        c, s = clients[i]
        await c.message(s, f"m{i}", f"Count from one to ten, session {i}.")
        frames = []
        while True:
            f = await c.recv(TURN_TIMEOUT_S)
            frames.append(f)
            arrivals[i].append((time.monotonic(), f["type"]))
            if f["type"] == "turn.end":
                return frames

    results = await asyncio.gather(run(0), run(1))
    for frames in results:
        _, deltas, end = assert_one_real_turn(frames)
        assert end["finish"] in ("stop", "length") and turn_text(deltas).strip(), end
    # Concurrent, not one after the other: each turn got deltas before the other one ended.
    first_delta = [min(t for t, kind in a if kind == "turn.delta") for a in arrivals]
    ended = [max(t for t, kind in a if kind == "turn.end") for a in arrivals]
    assert first_delta[0] < ended[1] and first_delta[1] < ended[0], (first_delta, ended)
    for c, _ in clients:
        await c.close()


async def test_stop_cancels_a_real_stream_and_the_next_turn_works(gateway_factory):
    gw = gateway_factory(llm_config(max_tokens=400))
    s = unique("e2e-stop")
    c = await WSClient.open(gw.ws_url)
    await c.join(s)
    await c.message(s, "m1", "Write a long story about a lighthouse keeper.")
    await c.recv_until(lambda f: f["type"] == "turn.delta", TURN_TIMEOUT_S)
    stopped_at = time.monotonic()
    await c.send({"type": "stop", "session": s})
    frames = await c.recv_turn(10)
    end = frames[-1]
    assert end["finish"] == "cancelled", end
    assert time.monotonic() - stopped_at < 2.0
    assert end["usage"]["output_tokens"] > 0, end
    # The server's slot is free again and the session takes the next message.
    await c.message(s, "m2", "Say yes.")
    frames = await c.recv_turn(TURN_TIMEOUT_S)
    assert frames[-1]["finish"] in ("stop", "length"), frames[-1]
    await c.close()


async def test_env_vars_alone_make_the_real_model_the_default(gateway_factory):
    """`make run-local-llm`'s path: no config file, CHAT_GATEWAY_OPENAI_BASE_URL and _MODEL only."""
    gw = gateway_factory(None, use_base=False, env={"CHAT_GATEWAY_OPENAI_BASE_URL": LLM_URL,
                                                    "CHAT_GATEWAY_OPENAI_MODEL": UPSTREAM_MODEL})
    s = unique("e2e-env")
    c = await WSClient.open(gw.ws_url)
    await c.join(s)
    await c.message(s, "m1", "Reply with one word.")
    start, deltas, end = assert_one_real_turn(await c.recv_turn(TURN_TIMEOUT_S * 2))
    assert start["model"] == UPSTREAM_MODEL, start
    assert end["finish"] in ("stop", "length") and turn_text(deltas).strip(), end
    assert end["usage"]["estimated"] is False
    await c.close()


async def test_anthropic_format_against_the_real_server(gateway_factory):
    """llama-server also speaks the Anthropic Messages API (`/v1/messages`): the anthropic provider,
    configured by environment alone, streams a real reply with real usage."""
    root = LLM_URL.rstrip("/").removesuffix("/v1")
    gw = gateway_factory(None, use_base=False, env={"CHAT_GATEWAY_ANTHROPIC_BASE_URL": root,
                                                    "CHAT_GATEWAY_ANTHROPIC_MODEL": UPSTREAM_MODEL})
    s = unique("e2e-anthropic")
    c = await WSClient.open(gw.ws_url)
    await c.join(s)
    await c.message(s, "m1", "Say hello in one short sentence.")
    start, deltas, end = assert_one_real_turn(await c.recv_turn(TURN_TIMEOUT_S * 2))
    assert start["model"] == UPSTREAM_MODEL, start
    assert len(deltas) >= 2 and turn_text(deltas).strip(), deltas
    assert end["finish"] in ("stop", "length") and not end.get("error"), end
    assert end["usage"]["estimated"] is False and end["usage"]["input_tokens"] > 5, end["usage"]
    await c.close()
