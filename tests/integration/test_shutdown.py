"""Stopping a node (SIGTERM): running turns end as `shutdown` errors and every client gets those last
events before its 1001 close; the process exits 0 promptly."""

from __future__ import annotations

import json
import signal
import time

from harness import WSClient, assert_contiguous, is_event, unique

SLOW_DEMO = {"llm": {"models": {"demo": {"provider": "demo", "tokens_per_second": 20, "tokens": 400}}}}


async def test_sigterm_mid_turn_sends_turn_end_then_1001(gateway_factory):
    gw = gateway_factory(SLOW_DEMO)
    s = unique()
    watcher = await WSClient.open(gw.ws_url)
    await watcher.join(s)
    writer = await WSClient.open(gw.ws_url)
    await writer.join(s)
    await writer.message(s, "m1", "a long one")
    await watcher.recv_until(lambda f: f["type"] == "turn.delta")

    t0 = time.monotonic()
    gw.proc.send_signal(signal.SIGTERM)
    for client in (watcher, writer):
        code, reason, raw = await client.expect_close(timeout=5)
        assert code == 1001, (code, reason)
        frames = [json.loads(r) for r in raw]
        events = [f for f in client.received + frames if is_event(f)]
        assert_contiguous(events, 1)
        end = events[-1]
        assert end["type"] == "turn.end", events[-3:]
        assert end["finish"] == "error" and end["error"]["code"] == "shutdown", end
    gw.proc.wait(5)
    assert time.monotonic() - t0 < 3.0
    assert gw.stop()[0] == 0


async def test_sigterm_with_idle_clients_closes_them_1001(gateway_factory):
    gw = gateway_factory()
    clients = [await WSClient.open(gw.ws_url) for _ in range(3)]
    await clients[0].join(unique())
    gw.proc.send_signal(signal.SIGTERM)
    for client in clients:
        code, _, frames = await client.expect_close(timeout=5)
        assert code == 1001 and frames == [], (code, frames)
    gw.proc.wait(5)
    assert gw.stop()[0] == 0


def test_sigterm_right_after_the_listening_line_is_honoured(tmp_path):
    # Once it says it is listening, a node must stop on SIGTERM (an orchestrator may stop a node it
    # just started). The signal handling must be in place by then, also on a busy machine, where the
    # threads that set it up run late: a few CPU spinners make that likely enough to see.
    import subprocess
    import sys

    from harness import REPO_ROOT, SCRUBBED_ENV, free_port, gateway_binary
    import os

    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(4)]
    hung = 0
    try:
        for _ in range(40):
            proc = subprocess.Popen([str(gateway_binary()), "--port", str(free_port())], cwd=REPO_ROOT, env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            assert b"listening on" in proc.stdout.readline()
            proc.send_signal(signal.SIGTERM)
            try:
                assert proc.wait(5) == 0
            except subprocess.TimeoutExpired:
                hung += 1
                proc.kill()
                proc.wait(5)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    assert hung == 0, f"{hung} of 40 nodes ignored a SIGTERM sent after their listening line"
