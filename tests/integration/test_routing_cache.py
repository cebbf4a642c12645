"""Cost controls through the gateway: routing rules pick the model (and say why in turn.start), the
response cache answers a repeated conversation at once for free, and long sessions are trimmed to the
model's context window instead of failing."""

from __future__ import annotations


from harness import usage_lines, WSClient, is_event, turn_text, unique


async def turn(c: WSClient, s: str, mid: str, text: str) -> list[dict]:
    await c.message(s, mid, text)
    return [f for f in await c.recv_turn() if is_event(f)]


async def test_routing_rules_choose_the_model_and_say_why(gateway_factory, scripted_upstream):
    small, large = unique("small"), unique("large")
    cfg = {"llm": {"default_model": "large", "models": {
        "small": {"provider": "openai", "base_url": scripted_upstream.base_url, "model": f"ok:tokens=2:tag={small}"},
        "large": {"provider": "openai", "base_url": scripted_upstream.base_url, "model": f"ok:tokens=2:tag={large}"}},
        "routing": {"tenants": {"vip": "large"}, "rules": [
            {"when": {"has_code": True}, "model": "large", "reason": "code"},
            {"when": {"max_chars": 40}, "model": "small", "reason": "short question"}]}}}
    gw = gateway_factory(cfg)
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    short = await turn(c, s, "m1", "Where is my order?")
    start = next(e for e in short if e["type"] == "turn.start")
    assert start["model"] == "small" and start["route"] == "short question", start
    code = await turn(c, s, "m2", "Why does this fail?\n```python\nprint(1/0)\n```")
    start = next(e for e in code if e["type"] == "turn.start")
    assert start["model"] == "large" and start["route"] == "code", start
    long = await turn(c, s, "m3", "I would like to understand every line item of my last three invoices, please.")
    start = next(e for e in long if e["type"] == "turn.start")
    assert start["model"] == "large" and start["route"] == "default", start
    await c.close()
    vip = await WSClient.connect(gw.ws_url)
    await vip.hello(tenant="vip")
    s2 = unique()
    await vip.join(s2)
    start = next(e for e in await turn(vip, s2, "m1", "Hi?") if e["type"] == "turn.start")
    assert start["model"] == "large" and "vip" in start["route"], start
    await vip.close()
    log = scripted_upstream.log()
    assert sum(f"tag={small}" in (e.get("model") or "") for e in log) == 1
    assert sum(f"tag={large}" in (e.get("model") or "") for e in log) == 3


async def test_a_repeated_conversation_is_answered_from_the_cache(gateway_factory, scripted_upstream, tmp_path):
    tag = unique("c")
    cfg = {"usage": {"log_path": str(tmp_path / "usage.jsonl")},
           "llm": {"default_model": "up", "cache": {"enabled": True, "ttl_s": 60},
                   "models": {"up": {"provider": "openai", "base_url": scripted_upstream.base_url,
                                     "model": f"ok:tokens=4:tag={tag}",
                                     "price": {"input_usd_per_million": 3, "output_usd_per_million": 15}}}}}
    gw = gateway_factory(cfg)
    replies = []
    for attempt in range(2):
        c = await WSClient.open(gw.ws_url)
        s = unique()
        await c.join(s)
        # The same words, spaced differently: normalization makes it the same conversation.
        events = await turn(c, s, "m1", "How do I reset my password?" if attempt == 0 else "How do I  reset my password? ")
        replies.append(events)
        await c.close()
    first, second = replies
    assert turn_text(first) == turn_text(second) == "tok0 tok1 tok2 tok3 "
    start = next(e for e in second if e["type"] == "turn.start")
    assert start.get("cached") is True, start
    assert "cached" not in next(e for e in first if e["type"] == "turn.start")
    end = second[-1]
    assert end["finish"] == "stop" and end["usage"]["cached"] is True, end
    assert sum(1 for e in second if e["type"] == "turn.delta") == 1, "a hit comes at once, in one delta"
    assert sum(f"tag={tag}" in (e.get("model") or "") for e in scripted_upstream.log()) == 1, "one upstream call"
    records = usage_lines(tmp_path, 2)
    assert records[0]["cached"] is False and records[0]["cost_usd"] > 0, records[0]
    assert records[1]["cached"] is True and records[1]["cost_usd"] == 0 and records[1]["provider"] == "cache", records[1]
    # A different conversation misses.
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    other = await turn(c, s, "m1", "How do I change my email?")
    assert "cached" not in next(e for e in other if e["type"] == "turn.start")
    await c.close()


async def test_failed_replies_are_not_cached(gateway_factory, scripted_upstream):
    tag = unique("c")
    cfg = {"llm": {"default_model": "up", "cache": {"enabled": True}, "retry": {"attempts_per_deployment": 1},
                   "models": {"up": {"provider": "openai", "base_url": scripted_upstream.base_url,
                                     "model": f"truncate:after=2:tag={tag}"}}}}
    gw = gateway_factory(cfg)
    for _ in range(2):
        c = await WSClient.open(gw.ws_url)
        s = unique()
        await c.join(s)
        events = await turn(c, s, "m1", "same question")
        assert events[-1]["finish"] == "error" and "cached" not in events[1], events
        await c.close()
    assert sum(f"tag={tag}" in (e.get("model") or "") for e in scripted_upstream.log()) == 2


async def test_a_long_session_is_trimmed_to_the_context_window(gateway_factory, scripted_upstream):
    tag = unique("trim")
    cfg = {"llm": {"default_model": "up", "system_prompt": "Be brief.", "models": {"up": {
        "provider": "openai", "base_url": scripted_upstream.base_url, "model": f"echo:tag={tag}",
        "context_window": 400, "max_tokens": 100}}}}
    gw = gateway_factory(cfg)
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    filler = "word " * 60  # about 75 tokens a message by the documented estimate
    for n in range(8):
        events = await turn(c, s, f"m{n}", f"question {n}: {filler}")
        assert events[-1]["finish"] == "stop", events[-1]
    await c.close()
    requests = [e for e in scripted_upstream.log() if f"tag={tag}" in (e.get("model") or "")]
    last = requests[-1]["messages"]
    assert last[0] == {"role": "system", "content": "Be brief."}, last[0]
    assert last[-1]["content"].startswith("question 7:"), "the newest message is always sent"
    assert len(last) < 1 + 2 * 7 + 1, f"older exchanges were dropped ({len(last)} messages sent)"
    estimate = sum((len(m["content"].encode()) + 3) // 4 + 4 for m in last)
    assert estimate <= 400 - 100, estimate
    roles = [m["role"] for m in last[1:]]
    assert roles[0] == "user", "the history starts with a question, not an orphaned reply"


async def test_a_fallback_models_reply_is_not_cached_as_the_routed_models(gateway_factory, scripted_upstream):
    # The primary fails before its first token and the demo fallback answers. That reply is the
    # fallback's, not the routed model's: a later identical conversation must ask the primary again
    # (now healthy) rather than get the degraded answer from the cache for an hour.
    tag = unique("c")
    cfg = {"llm": {"default_model": "up", "cache": {"enabled": True, "ttl_s": 60},
                   "retry": {"budget_ms": 5000, "attempts_per_deployment": 1, "backoff_base_ms": 20, "backoff_max_ms": 50},
                   "models": {"demo": {"provider": "demo", "tokens_per_second": 400, "tokens": 8},
                              "up": {"provider": "openai", "base_url": scripted_upstream.base_url,
                                     "model": f"ok:tokens=4:fail_first=1:fail_with=http-500:tag={tag}",
                                     "fallbacks": ["demo"]}}}}
    gw = gateway_factory(cfg)
    c = await WSClient.open(gw.ws_url)
    s1 = unique()
    await c.join(s1)
    first = await turn(c, s1, "m1", "What is the refund policy?")
    assert turn_text(first).startswith("This is the chat-gateway demo model"), "the fallback answered"
    s2 = unique()
    await c.join(s2)
    second = await turn(c, s2, "m1", "What is the refund policy?")
    start = next(e for e in second if e["type"] == "turn.start")
    assert not start.get("cached"), f"the fallback's reply was served from the cache as model 'up': {start}"
    assert turn_text(second) == "tok0 tok1 tok2 tok3 ", "the recovered primary answers"
    await c.close()


async def test_a_stopped_turn_in_a_trimmed_session_is_billed_for_what_was_sent(gateway_factory, scripted_upstream,
                                                                             tmp_path):
    # A stopped turn has no usage from the upstream, so its input is estimated. The estimate must be
    # of the messages actually sent (trimmed to the context window), not of the whole history: that
    # would bill, and count against the tenant's budget, tokens the model never saw.
    tag = unique("trim")
    window = {"context_window": 400, "max_tokens": 100}
    cfg = {"usage": {"log_path": str(tmp_path / "usage.jsonl")},
           "llm": {"default_model": "up", "system_prompt": "Be brief.",
                   "routing": {"rules": [{"when": {"keywords_any": ["stop me"]}, "model": "slow"}]},
                   "models": {
                       "up": {"provider": "openai", "base_url": scripted_upstream.base_url, "model": f"echo:tag={tag}", **window},
                       "slow": {"provider": "openai", "base_url": scripted_upstream.base_url,
                                "model": f"slow:tokens=600:delay_ms=20:tag={tag}", **window}}}}
    gw = gateway_factory(cfg)
    c = await WSClient.open(gw.ws_url)
    s = unique()
    await c.join(s)
    filler = "word " * 60
    for n in range(8):
        events = await turn(c, s, f"m{n}", f"question {n}: {filler}")
        assert events[-1]["finish"] == "stop", events[-1]
    await c.message(s, "m8", "please stop me")
    await c.recv_until(lambda f: f["type"] == "turn.delta")
    await c.send({"type": "stop", "session": s})
    end = (await c.recv_turn())[-1]
    assert end["finish"] == "cancelled" and end["usage"]["estimated"] is True, end
    await c.close()
    sent = [e for e in scripted_upstream.log() if f"tag={tag}" in (e.get("model") or "")][-1]["messages"]
    assert sent[-1]["content"] == "please stop me"
    estimate = sum((len(m["content"].encode()) + 3) // 4 + 4 for m in sent)
    assert end["usage"]["input_tokens"] == estimate, f"estimated {end['usage']['input_tokens']} input tokens, {estimate} were sent"
    record = usage_lines(tmp_path, 9)[-1]
    assert record["input_tokens"] == estimate, record
