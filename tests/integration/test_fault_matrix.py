"""The fault matrix: every scripted upstream fault in every provider's wire format (OpenAI-compatible,
Anthropic, Ollama) through the gateway. Each turn must end with exactly one `turn.end` carrying the right
finish and error code within its time bound, after the right number of upstream requests (retries before
the first token, none after it), with usage."""

from __future__ import annotations

import time

import pytest

from harness import WSClient, assert_contiguous, is_event, turn_text, unique

PROVIDERS = ["openai", "anthropic", "ollama"]
RETRY = {"budget_ms": 5000, "attempts_per_deployment": 2, "backoff_base_ms": 20, "backoff_max_ms": 40,
         "max_retry_after_ms": 3000, "cooldown_ms": 0}
TIMEOUTS = {"first_token_timeout_ms": 400, "idle_timeout_ms": 400, "connect_timeout_ms": 1000, "timeout_s": 20}

# script, finish, error code, relayed text, upstream requests, seconds at most
FAULTS = [
    ("ok:tokens=5", "stop", None, "tok0 tok1 tok2 tok3 tok4 ", 1, 2),
    ("length:tokens=4", "length", None, "tok0 tok1 tok2 tok3 ", 1, 2),
    ("nousage:tokens=3", "stop", None, "tok0 tok1 tok2 ", 1, 2),
    ("split", "stop", None, "Split héllo 世界 🙂 end", 1, 3),
    ("truncate:after=3", "error", "upstream_truncated", "tok0 tok1 tok2 ", 1, 2),
    ("truncate:after=3:abrupt=1", "error", "upstream_truncated", "tok0 tok1 tok2 ", 1, 2),
    ("truncate:after=0:abrupt=1", "error", "upstream_truncated", "", 2, 2),
    ("inband-error:after=3", "error", "upstream_error", "tok0 tok1 tok2 ", 1, 2),
    ("inband-error:after=0", "error", "upstream_error", "", 2, 2),
    ("inband-error:after=0:overloaded=0", "error", "upstream_error", "", 1, 2),
    ("http-500", "error", "upstream_http", "", 2, 2),
    ("http-400", "error", "upstream_http", "", 1, 2),
    ("http-429:retry=ms", "error", "upstream_http", "", 2, 2),
    ("http-429:retry=seconds", "error", "upstream_http", "", 2, 3),
    ("http-429:retry=date", "error", "upstream_http", "", 2, 4),
    ("reset", "error", "upstream_error", "", 2, 2),
    ("stall-headers", "error", "upstream_first_token_timeout", "", 2, 3),
    ("stall:after=0", "error", "upstream_first_token_timeout", "", 2, 3),
    ("stall:after=2", "error", "upstream_idle_timeout", "tok0 tok1 ", 1, 2),
    ("ok:tokens=3:fail_first=1", "stop", None, "tok0 tok1 tok2 ", 2, 2),
    # A 429 asking for 7 s (over max_retry_after_ms) is not waited for, and there is no fallback.
    ("ok:tokens=3:fail_first=1:fail_with=http-429", "error", "upstream_http", "", 1, 2),
    ("ok:tokens=3:fail_first=2", "error", "upstream_http", "", 2, 2),
]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("script,finish,code,text,requests,bound", FAULTS, ids=[f[0] for f in FAULTS])
async def test_fault(gateway_factory, scripted_upstream, provider, script, finish, code, text, requests, bound):
    tag = unique("fm")
    model = {"provider": provider, "base_url": scripted_upstream.base_url_for(provider),
             "model": f"{script}:tag={tag}", **TIMEOUTS}
    gw = gateway_factory({"llm": {"default_model": "up", "retry": RETRY, "models": {"up": model}}})
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    t0 = time.monotonic()
    await c.message(s, "m1", "hello")
    frames = await c.recv_turn(timeout=bound + 5)
    took = time.monotonic() - t0
    events = [f for f in frames if is_event(f)]
    assert_contiguous(events, 1)
    ends = [e for e in events if e["type"] == "turn.end"]
    assert len(ends) == 1 and ends[0] is events[-1], events
    end = ends[0]
    assert end["finish"] == finish, end
    assert (end.get("error") or {}).get("code") == code, end
    assert turn_text(events) == text
    usage = end["usage"]
    assert type(usage["input_tokens"]) is int and type(usage["output_tokens"]) is int, usage
    if finish in ("stop", "length") and not script.startswith("nousage"):
        assert usage["estimated"] is False, usage
    assert took < bound, f"{script} on {provider} took {took:.2f} s"
    made = [e for e in scripted_upstream.log() if f"tag={tag}" in (e.get("model") or "")]
    assert len(made) == requests, [(e.get("script"), e.get("outcome")) for e in made]
    await c.expect_nothing(0.05)
    await c.close()
