"""The cluster itself: nodes and worker-only processes share one Redis, and what they keep there expires."""

from __future__ import annotations

import json

import pytest

from harness import WSClient, http_get, unique, wait_until
from cluster_client import Conn

FAST_DEMO = {"llm": {"models": {"demo": {"provider": "demo", "tokens": 10, "tokens_per_second": 400}}}}


def readyz(node) -> tuple[int, dict]:
    status, _, body = http_get(f"{node.http_url}/readyz", timeout=2)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, {"raw": body.decode(errors="replace")}


@pytest.mark.async_timeout(30)
async def test_nodes_share_one_redis(cluster):
    nodes = cluster.start(3, FAST_DEMO)
    for node in nodes:
        status, body = readyz(node)
        assert (status, body.get("status")) == (200, "ready"), (node.name, status, body)
        _, _, health = http_get(f"{node.http_url}/healthz")
        backend = json.loads(health).get("state_backend")
        assert backend != "memory", f"{node.name} runs with state_backend={backend!r} although redis.url is set"
    wait_until(lambda: len(cluster.redis.clients()) >= 3, 5, what="every node connected to redis-server")

    conns = [await Conn.open(node) for node in nodes]
    assert [c.welcome["node"] for c in conns] == ["node-a", "node-b", "node-c"], [c.welcome for c in conns]
    s = unique()
    for c in conns:
        await c.join(s)
    ack = await conns[0].message(s, "m1", "hello cluster")
    assert ack["type"] == "ack" and ack["seq"] == 1, ack
    await conns[0].wait_turn_end(s)
    keys = cluster.redis.keys("mn:*")
    assert any(s in k for k in keys), f"nothing about session {s} in Redis (prefix mn): {keys}"
    assert not cluster.redis.keys("cg:*"), "redis.prefix must be used for every key"
    for c in conns:
        await c.close()


@pytest.mark.async_timeout(30)
async def test_worker_process_runs_turns_and_serves_only_health(cluster):
    # The node runs no turns itself (workers.concurrency 0): the worker-only process must.
    [node] = cluster.start(1, {**FAST_DEMO, "workers": {"concurrency": 0}})
    worker = cluster.start_worker({**FAST_DEMO, "workers": {"concurrency": 2}})
    status, _, body = http_get(f"{worker.http_url}/healthz")
    assert status == 200, (status, body)

    # No WebSocket clients: the upgrade is refused, or the connection closed before any welcome.
    from websockets.exceptions import ConnectionClosed, InvalidHandshake

    try:
        ws = await WSClient.connect(worker.ws_url)
    except (InvalidHandshake, OSError):
        pass
    else:
        try:
            await ws.send({"type": "hello", "client": "pytest"})
        except ConnectionClosed as closed:  # closed before the hello could go out
            assert closed.rcvd is not None and closed.rcvd.code == 4010, closed
        else:
            code, _, frames = await ws.expect_close(3)
            assert not any('"welcome"' in f for f in frames), f"`chat-gateway worker` welcomed a client: {frames}"
            assert code == 4010, code

    c = await Conn.open(node)
    s = unique()
    await c.join(s)
    ack = await c.message(s, "m1", "run me elsewhere")
    assert ack["type"] == "ack", ack
    end = await c.wait_turn_end(s, timeout=10)
    assert end["finish"] == "stop", end
    await c.close()


@pytest.mark.async_timeout(30)
async def test_no_immortal_keys(cluster):
    """Every key the cluster writes has a TTL, but the work queue and the lease set (ClusterKeys)."""
    nodes = cluster.start(2, FAST_DEMO)
    a = await Conn.open(nodes[0], user="ttl-user")
    b = await Conn.open(nodes[1], user="ttl-other")
    s = unique()
    await a.join(s)
    await b.join(s)
    assert (await a.message(s, "m1", "hi"))["type"] == "ack"
    await b.wait_turn_end(s)
    await a.send({"type": "typing", "session": s})
    await a.close()
    await b.close()
    keys = cluster.redis.keys("mn:*")
    assert keys, "the cluster wrote nothing under its prefix"
    immortal = [k for k in keys if k not in ("mn:turns", "mn:leases") and cluster.redis.command("TTL", k) == -1]
    assert not immortal, f"keys without a TTL: {immortal}"
