"""A per-user message limit is one budget for the whole cluster, counted in Redis.

The limit is set so that the count is measurable in a few seconds: a burst of BURST messages and a
refill of 1 message a minute, so over the few seconds the hammering lasts the user may send
BURST + elapsed/60 messages, which is BURST to within a fraction of one message. Three nodes with two
connections each then send three times that as fast as they can, each message to a session of its own
(a busy session would refund its message). With per-node buckets three times the limit would get in."""

from __future__ import annotations

import asyncio
import time

import pytest

from harness import unique
from cluster_client import Conn

BURST = 200
PER_MINUTE = 1


def limit_config() -> dict:
    return {
        "limits": {"messages_per_minute": PER_MINUTE, "message_burst": BURST},
        # Every admitted message starts a turn at once: room for all of them, and short ones.
        "workers": {"concurrency": 64, "queue_size": 5000},
        "llm": {"models": {"demo": {"provider": "demo", "tokens": 1, "tokens_per_second": 1000}}},
    }


@pytest.mark.async_timeout(60)
async def test_message_limit_is_enforced_across_three_nodes(cluster):
    nodes = cluster.start(3, limit_config())
    per_conn = BURST * 3 // 6 + 10  # each node alone sends more than BURST
    conns = []
    for node in nodes:
        for k in range(2):
            conns.append(await Conn.open(node, user="hammer", label=f"{node.name}/{k}"))
    sessions = {c: [unique(f"rl{i}") for i in range(per_conn)] for i, c in enumerate(conns)}
    for c in conns:
        for s in sessions[c]:
            await c.send({"type": "join", "session": s})
    for c in conns:
        await c.wait_until(lambda c=c: len(c.of_type("joined")) + len(c.of_type("error")) >= per_conn, 20,
                           "every join answered")
        assert not c.of_type("error"), c.of_type("error")[:3]

    async def hammer(c: Conn) -> None:
        for i, s in enumerate(sessions[c]):
            await c.send({"type": "message", "session": s, "id": f"{c.label}-{i}", "text": "hi"})

    t0 = time.monotonic()
    await asyncio.gather(*(hammer(c) for c in conns))
    for c in conns:
        await c.wait_until(lambda c=c: len(c.of_type("ack")) + len(c.of_type("error")) >= per_conn, 30,
                           "an answer to every message")
    elapsed = time.monotonic() - t0

    acks = [f for c in conns for f in c.of_type("ack")]
    errors = [f for c in conns for f in c.of_type("error")]
    other = [e for e in errors if e["code"] != "rate_limited"]
    assert not other, f"only rate_limited refusals are expected (else the count means nothing): {other[:5]}"
    for e in errors:
        assert isinstance(e.get("retry_after_ms"), int) and 0 < e["retry_after_ms"] <= 60_000 // PER_MINUTE + 1000, e
    allowed = BURST + PER_MINUTE * elapsed / 60
    admitted = len(acks)
    assert abs(admitted - allowed) <= 0.01 * allowed, (
        f"{admitted} messages admitted across 3 nodes in {elapsed:.1f} s, the limit allows {allowed:.1f} "
        f"(per-node buckets would let in about {3 * BURST})")

    # The buckets live in Redis under the prefix, and expire.
    keys = cluster.redis.keys("mn:rl:*")
    assert keys, "no rate-limit key under mn:rl:"
    assert all(cluster.redis.command("TTL", k) > 0 for k in keys), {k: cluster.redis.command("TTL", k) for k in keys}

    # Another user is not limited by hammer's spending.
    other_user = await Conn.open(nodes[1], user="calm")
    s = unique()
    await other_user.join(s)
    answer = await other_user.message(s, "m1", "hello")
    assert answer["type"] == "ack", answer
    for c in conns + [other_user]:
        await c.close()
