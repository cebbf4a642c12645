"""Fixtures of the multi-node suite (docs/multi-node.md, issue 3).

* ``redis_server``: a ``redis-server`` of the test's own (``harness.RedisServer``): free port, no
  persistence, killable and restartable on the same port, killed at teardown.
* ``cluster``: ``harness.Cluster`` over it: ``cluster.start(3, config)`` starts gateway nodes
  (node-a, node-b, ...), ``cluster.start_worker(config)`` a ``chat-gateway worker`` process; each has
  ``kill()`` (SIGKILL). Gateways are stopped (SIGTERM, clean exit checked) before Redis is killed.

Every test here is marked ``multinode`` (``pytest -m 'not multinode'`` leaves the suite out).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import Cluster, RedisServer, http_get

CLUSTERS_KEY = pytest.StashKey[list]()


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.multinode)


@pytest.fixture
def redis_server(tmp_path: Path):
    server = RedisServer(tmp_path / "redis")
    yield server
    server.kill()


@pytest.fixture
def cluster(redis_server, gateway_factory, request) -> Cluster:
    # redis_server is set up first, so it is torn down last: the gateways stop while Redis is up.
    c = Cluster(gateway_factory, redis_server, prefix="mn")
    request.node.stash.setdefault(CLUSTERS_KEY, []).append(c)
    return c


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    if report.failed and report.when == "call":
        for c in item.stash.get(CLUSTERS_KEY, []):
            lines = [f"redis-server on port {c.redis.port}: {'running' if c.redis.running() else 'down'}"]
            for gw in c.all():
                state = "alive" if gw.alive() else f"exited ({gw.proc.returncode}){' (killed by the test)' if gw.killed else ''}"
                health = ""
                if gw.alive():
                    try:
                        status, _, body = http_get(f"{gw.http_url}/healthz", timeout=1)
                        health = f" /healthz {status} {body.decode(errors='replace')}"
                    except OSError as e:
                        health = f" /healthz: {e}"
                lines.append(f"{gw.name} pid {gw.pid} port {gw.port}: {state}{health}")
            report.sections.append(("cluster", "\n".join(lines)))
    return report
