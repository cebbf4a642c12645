"""Chat workers against misbehaving upstreams: retries and fallbacks before the first token, never after
it, node-wide cool-down after a 429, the first-token and idle timeouts, usage records for every outcome,
and per-tenant budgets."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from harness import usage_lines, WSClient, is_event, turn_text, unique

FAST_RETRY = {"budget_ms": 5000, "attempts_per_deployment": 2, "backoff_base_ms": 20, "backoff_max_ms": 50,
              "max_retry_after_ms": 1000, "cooldown_ms": 3000}


def up_model(upstream, script: str, **extra) -> dict:
    model = {"provider": "openai", "base_url": upstream.base_url, "model": script}
    model.update(extra)
    return model


def config(models: dict, default: str = "up", tmp: Path | None = None, **llm) -> dict:
    cfg = {"llm": {"default_model": default, "retry": FAST_RETRY, "models": {
        "demo": {"provider": "demo", "tokens_per_second": 400, "tokens": 8}, **models}, **llm}}
    if tmp is not None:
        cfg["usage"] = {"log_path": str(tmp / "usage.jsonl")}
    return cfg


async def one_turn(gw, text: str, timeout: float = 10.0):
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    await c.message(s, "m1", text)
    frames = await c.recv_turn(timeout)
    await c.close()
    events = [f for f in frames if is_event(f)]
    return events, events[-1]


def requests_tagged(upstream, tag: str) -> list[dict]:
    return [e for e in upstream.log() if f"tag={tag}" in (e.get("model") or "")]


async def test_retryable_errors_are_retried_then_the_fallback_answers(gateway_factory, scripted_upstream, tmp_path):
    tag = unique("t")
    gw = gateway_factory(config({"up": {**up_model(scripted_upstream, f"http-500:tag={tag}"), "fallbacks": ["demo"]}},
                                tmp=tmp_path))
    t0 = time.monotonic()
    events, end = await one_turn(gw, "hello")
    assert end["finish"] == "stop", end
    assert turn_text(events).startswith("This is the chat-gateway demo model"), "the fallback model answered"
    assert len(requests_tagged(scripted_upstream, tag)) == 2, "one try and one retry on the failing deployment"
    assert time.monotonic() - t0 < 3
    [record] = usage_lines(tmp_path, 1)
    assert record["model"] == "up" and record["served_model"] == "demo" and record["deployment"] == "demo", record
    assert record["attempts"] == 3 and record["finish"] == "stop", record


async def test_after_the_first_token_nothing_switches(gateway_factory, scripted_upstream, tmp_path):
    tag = unique("t")
    gw = gateway_factory(config({"up": {**up_model(scripted_upstream, f"inband-error:after=3:tag={tag}"),
                                        "fallbacks": ["demo"]}}, tmp=tmp_path))
    events, end = await one_turn(gw, "hello")
    assert end["finish"] == "error" and end["error"]["code"] == "upstream_error", end
    assert turn_text(events) == "tok0 tok1 tok2 ", "the partial reply stays; no demo text follows"
    assert len(requests_tagged(scripted_upstream, tag)) == 1
    [record] = usage_lines(tmp_path, 1)
    assert record["attempts"] == 1 and record["error"] == "upstream_error", record


async def test_a_429_cools_the_deployment_down_for_the_next_turns(gateway_factory, scripted_upstream, tmp_path):
    tag = unique("t")
    # Retry-After: 7 s is over max_retry_after_ms (1 s): not waited for; the deployment cools for 7 s.
    gw = gateway_factory(config({"up": {**up_model(scripted_upstream, f"http-429:tag={tag}"), "fallbacks": ["demo"]}},
                                tmp=tmp_path))
    for _ in range(3):
        events, end = await one_turn(gw, "hello")
        assert end["finish"] == "stop" and turn_text(events), end
    assert len(requests_tagged(scripted_upstream, tag)) == 1, "later turns skip the cooling deployment"
    records = usage_lines(tmp_path, 3)
    assert [r["attempts"] for r in records] == [2, 1, 1], records
    assert all(r["served_model"] == "demo" for r in records), records


async def test_first_token_timeout_ignores_keep_alives(gateway_factory, scripted_upstream):
    tag = unique("t")
    retry = {**FAST_RETRY, "attempts_per_deployment": 1}
    gw = gateway_factory(config({"up": up_model(scripted_upstream, f"stall:after=0:tag={tag}",
                                                first_token_timeout_ms=400)}, retry=retry))
    t0 = time.monotonic()
    events, end = await one_turn(gw, "hello")
    took = time.monotonic() - t0
    assert end["finish"] == "error" and end["error"]["code"] == "upstream_first_token_timeout", end
    assert 0.35 < took < 2.0, took
    [req] = requests_tagged(scripted_upstream, tag)
    assert scripted_upstream.wait_closed(req["id"], timeout_ms=2000)["outcome"] == "client_closed"


async def test_idle_timeout_between_tokens(gateway_factory, scripted_upstream):
    tag = unique("t")
    gw = gateway_factory(config({"up": {**up_model(scripted_upstream, f"stall:after=2:tag={tag}", idle_timeout_ms=400),
                                        "fallbacks": ["demo"]}}))
    t0 = time.monotonic()
    events, end = await one_turn(gw, "hello")
    assert end["finish"] == "error" and end["error"]["code"] == "upstream_idle_timeout", end
    assert turn_text(events) == "tok0 tok1 ", "text before the stall is kept, and no fallback after it"
    assert time.monotonic() - t0 < 2.0
    [req] = requests_tagged(scripted_upstream, tag)
    assert scripted_upstream.wait_closed(req["id"], timeout_ms=2000)["outcome"] == "client_closed"


async def test_retry_budget_bounds_the_turn(gateway_factory, scripted_upstream):
    tag = unique("t")
    retry = {**FAST_RETRY, "budget_ms": 300, "attempts_per_deployment": 10, "backoff_base_ms": 100, "backoff_max_ms": 100}
    gw = gateway_factory(config({"up": up_model(scripted_upstream, f"http-500:tag={tag}")}, retry=retry))
    t0 = time.monotonic()
    _, end = await one_turn(gw, "hello")
    assert end["finish"] == "error" and end["error"]["code"] == "upstream_http", end
    assert "retry budget spent" in end["error"]["message"], end
    assert time.monotonic() - t0 < 1.5
    assert 2 <= len(requests_tagged(scripted_upstream, tag)) <= 5


async def test_every_outcome_gets_a_usage_record(gateway_factory, scripted_upstream, tmp_path):
    gw = gateway_factory(config({"up": up_model(scripted_upstream, "slow:tokens=200:delay_ms=20",
                                                price={"input_usd_per_million": 3, "output_usd_per_million": 15})},
                                tmp=tmp_path))
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    await c.message(s, "m1", "stop me")
    await c.recv_until(lambda f: f["type"] == "turn.delta")
    await c.send({"type": "stop", "session": s})
    end = (await c.recv_turn())[-1]
    assert end["finish"] == "cancelled"
    await c.close()
    [record] = usage_lines(tmp_path, 1)
    assert record["finish"] == "cancelled" and record["tenant"] == "default", record
    assert record["output_tokens"] > 0 and record["estimated"] is True, "a stopped turn's usage is estimated"
    expected = record["input_tokens"] * 3 / 1e6 + record["output_tokens"] * 15 / 1e6
    assert abs(record["cost_usd"] - expected) < 1e-9, record
    assert record["ttft_ms"] >= 0 and record["total_ms"] >= record["ttft_ms"] and record["queue_wait_ms"] >= 0, record
    for key in ("session", "turn", "user", "model", "served_model", "deployment", "provider", "attempts"):
        assert key in record, key


async def test_budget_refuses_new_turns_once_spent(gateway_factory, tmp_path):
    cfg = {"budgets": {"default_cost_per_day": 1.0, "tenants": {"tiny": 0.000001}},
           "llm": {"models": {"demo": {"provider": "demo", "tokens_per_second": 400, "tokens": 20,
                                       "price": {"input_usd_per_million": 10, "output_usd_per_million": 100}}}}}
    gw = gateway_factory(cfg)
    tiny = await WSClient.connect(gw.ws_url)
    welcome = await tiny.hello(tenant="tiny")
    assert welcome["tenant"] == "tiny"
    s = unique()
    await tiny.join(s)
    await tiny.message(s, "m1", "first")
    assert (await tiny.recv_turn())[-1]["finish"] == "stop"
    await tiny.message(s, "m2", "second")
    refusal = await tiny.expect("error")
    assert refusal["code"] == "budget_exceeded" and refusal["ref"] == "m2", refusal
    assert 0 < refusal["retry_after_ms"] <= 86_400_000, refusal
    await tiny.expect_nothing(0.3)  # nothing appended, no ack
    # Another tenant is not affected.
    other = await WSClient.open(gw.ws_url)
    s2 = unique()
    await other.join(s2)
    await other.message(s2, "m1", "hi")
    assert (await other.recv_turn())[-1]["finish"] == "stop"
    await tiny.close()
    await other.close()


async def test_an_absurd_retry_after_does_not_bring_the_node_down(gateway_factory, scripted_upstream):
    # Retry-After is the upstream's to write; one past what fits in an Int must not trap the process.
    for form in ("huge", "huge-ms"):
        tag = unique("t")
        gw = gateway_factory(config({"up": {**up_model(scripted_upstream, f"http-429:retry={form}:tag={tag}"),
                                            "fallbacks": ["demo"]}}))
        events, end = await one_turn(gw, "hello")
        assert end["finish"] == "stop" and turn_text(events), (form, end)
        assert gw.proc.poll() is None, f"retry={form}: the gateway died"
        events, end = await one_turn(gw, "hello again")
        assert end["finish"] == "stop", (form, end)
        assert len(requests_tagged(scripted_upstream, tag)) == 1, "the deployment stays cooled down"


async def test_turns_waiting_for_a_full_deployment_get_it_in_the_order_they_came(gateway_factory, scripted_upstream):
    # max_concurrency 1 and six turns, accepted one after the other, each holding the deployment for
    # ~0.25 s. Each waiting turn looks again every 25 ms; a freed slot must go to the one that has
    # waited longest, not to whichever looked first (else an early turn can lose every time and run
    # out of its retry budget while later ones are served).
    tag = unique("t")
    gw = gateway_factory(config({"up": up_model(scripted_upstream, f"ok:tokens=5:delay_ms=50:tag={tag}", max_concurrency=1)},
                                retry={**FAST_RETRY, "budget_ms": 20000}))
    clients = []
    for i in range(6):
        c = await WSClient.open(gw.ws_url)
        s = unique()
        await c.join(s)
        await c.message(s, "m1", f"question {i}")
        await c.recv_until(lambda f: f["type"] == "ack")
        clients.append(c)
        await asyncio.sleep(0.03)
    for c in clients:
        end = (await c.recv_turn(20))[-1]
        assert end["finish"] == "stop", end
        await c.close()
    served = [e["messages"][-1]["content"] for e in sorted(requests_tagged(scripted_upstream, tag),
                                                           key=lambda e: e["started_at"])]
    assert served == [f"question {i}" for i in range(6)], served


async def test_budgets_over_deployments_without_a_price_are_flagged_at_start_up(gateway_factory, scripted_upstream):
    # A turn on a deployment without a price costs "unknown", which budgets count as nothing: with a
    # budget set, such a deployment is never refused however much it is used. That must not be silent.
    gw = gateway_factory({**config({"up": up_model(scripted_upstream, "ok:tokens=3")}),
                          "budgets": {"default_cost_per_day": 0.000001}})
    for _ in range(2):
        _, end = await one_turn(gw, "hello")
        assert end["finish"] == "stop", end
    warnings = [line for line in gw.stderr().splitlines() if "[warn]" in line and "price" in line]
    assert warnings and "'up'" in warnings[0], gw.stderr()
    assert "demo" not in warnings[0], "the built-in demo model is free by definition"


async def test_a_resent_message_gets_its_ack_even_once_the_budget_is_spent(gateway_factory):
    # Resending a message id is the protocol's safe retry (a client that lost the ack cannot tell
    # whether it arrived): it must get the original ack back, not a budget refusal for a message
    # that was accepted and answered.
    cfg = {"budgets": {"tenants": {"tiny": 0.000001}},
           "llm": {"models": {"demo": {"provider": "demo", "tokens_per_second": 400, "tokens": 20,
                                       "price": {"input_usd_per_million": 10, "output_usd_per_million": 100}}}}}
    gw = gateway_factory(cfg)
    tiny = await WSClient.connect(gw.ws_url)
    await tiny.hello(tenant="tiny")
    s = unique()
    await tiny.join(s)
    await tiny.message(s, "m1", "first")
    frames = await tiny.recv_turn()
    ack = next(f for f in frames if f["type"] == "ack")
    assert frames[-1]["finish"] == "stop"
    await tiny.message(s, "m1", "first")
    again = await tiny.recv()
    assert again == {"type": "ack", "id": "m1", "seq": ack["seq"]}, again
    await tiny.close()


async def test_a_stalled_primary_falls_back_within_the_retry_budget(gateway_factory, scripted_upstream):
    # With the defaults (first_token_timeout_ms 60 s, budget_ms 20 s) a primary that accepts the
    # request and then says nothing holds the turn for 60 s and ends it in error, although the
    # fallback could have answered at once: "retry, then fall back, all within the budget".
    tag = unique("t")
    gw = gateway_factory(config({"up": {**up_model(scripted_upstream, f"stall-headers:tag={tag}", first_token_timeout_ms=3000),
                                        "fallbacks": ["demo"]}}, retry={**FAST_RETRY, "budget_ms": 2000}))
    t0 = time.monotonic()
    events, end = await one_turn(gw, "hello")
    took = time.monotonic() - t0
    assert end["finish"] == "stop" and turn_text(events).startswith("This is the chat-gateway demo model"), end
    assert took < 2.5, f"the turn took {took:.1f} s with a 2 s retry budget"
