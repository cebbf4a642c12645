"""chat-bench cost-replay runs end to end on the committed workload and writes sane results."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from harness import REPO_ROOT

WORKLOAD = "bench/workloads/support-conversations.json"


def bench_binary() -> Path:
    path = Path(os.environ.get("CHAT_BENCH_BIN", ".build/debug/chat-bench"))
    path = path if path.is_absolute() else REPO_ROOT / path
    if not path.exists():
        pytest.fail(f"{path} does not exist (run `swift build` or set CHAT_BENCH_BIN)", pytrace=False)
    return path


def run_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(bench_binary()), *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def test_cost_replay_writes_results_with_a_saving(tmp_path):
    result = run_bench("cost-replay", "--workload", WORKLOAD, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "| naive |" in result.stdout and "| optimized |" in result.stdout, result.stdout

    written = list(tmp_path.glob("cost-replay-*.json"))
    assert len(written) == 1, written
    results = json.loads(written[0].read_text())
    workload = json.loads((REPO_ROOT / WORKLOAD).read_text())

    assert results["scenario"] == "cost-replay"
    assert results["conversations"] == len(workload["conversations"])
    assert results["turns"] == sum(len(c["turns"]) for c in workload["conversations"])
    for path in ("naive", "optimized"):
        for field in ("turns", "cache_hits", "input_tokens", "output_tokens", "cost_usd"):
            assert field in results[path], (path, field)
    assert results["naive"]["cache_hits"] == 0
    assert 0 <= results["cache_hits"] <= results["turns"]
    assert 0 <= results["share_routed_away"] <= 1
    assert results["optimized"]["cost_usd"] < results["naive"]["cost_usd"]
    assert 0 < results["saving_percent"] < 100
    assert [p["name"] for p in results["paths"]][0] == "naive"
    assert len(results["turn_log"]) == results["turns"]


def test_bad_arguments_and_missing_files_are_reported(tmp_path):
    assert run_bench("no-such-scenario").returncode == 2
    assert run_bench("cost-replay", "--frobnicate", "x").returncode == 2
    missing = run_bench("cost-replay", "--workload", str(tmp_path / "absent.json"), "--out", str(tmp_path))
    assert missing.returncode == 1
    assert "absent.json" in missing.stderr, missing.stderr


# --------------------------------------------------------------------------- idle and fanout (real sockets)
# Tiny runs, so the load generator does not rot; the figures themselves belong in `make bench`.

from harness import gateway_binary  # noqa: E402


def run_load(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(bench_binary()), *args, "--gateway", str(gateway_binary())], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def only_results(directory: Path, scenario: str) -> dict:
    written = list(directory.glob(f"{scenario}-*.json"))
    assert len(written) == 1, written
    results = json.loads(written[0].read_text())
    assert results["scenario"] == scenario
    assert results["machine"]["cores"] >= 1
    return results


def test_idle_holds_every_connection_and_measures_the_gateway(tmp_path):
    result = run_load("idle", "--connections", "10", "--hold-seconds", "0.2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "| 10 | 1 | 10 | 0 | 0 |" in result.stdout, result.stdout
    [run] = only_results(tmp_path, "idle")["runs"]
    assert run["connections"] == run["opened"] == run["joined"] == 10
    assert run["failed"] == run["closed_early"] == 0 and run["errors"] == {}
    assert run["sessions"] == 10
    assert 0 < run["gateway_rss_before_kb"] and 0 < run["gateway_rss_held_kb"]
    expected = (run["gateway_rss_held_kb"] - run["gateway_rss_before_kb"]) * 1024 / 10
    assert run["rss_per_connection_bytes"] == pytest.approx(expected)
    assert run["connect_seconds"] >= 0 and run["connects_per_second"] > 0
    assert len(run["source_addresses"]) == 1 and run["source_addresses"][0].startswith("127.0.")


def test_idle_spreads_connections_over_client_processes_and_source_addresses(tmp_path):
    result = run_load("idle", "--connections", "12", "--subscribers", "4", "--processes", "3",
                      "--hold-seconds", "0", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    [run] = only_results(tmp_path, "idle")["runs"]
    assert run["client_processes"] == 3 and run["joined"] == 12 and run["sessions"] == 3
    assert len(set(run["source_addresses"])) == 3


def assert_every_token_arrived(run: dict, sessions: int, subscribers: int, tokens: int) -> None:
    everyone = sessions * subscribers
    assert run["joined"] == run["complete_subscribers"] == run["turn_ends"] == everyone, run
    assert run["every_subscriber_complete"] is True
    assert run["gaps"] == 0 and run["duplicates"] == 0 and run["errors"] == {}, run
    assert run["tokens_delivered"] == run["tokens_reported"] == everyone * tokens
    # message + turn.start + turn.end, and at most one frame per token (fewer when merged).
    assert 3 * everyone + run["merged_frames"] <= run["frames"] <= (3 + tokens) * everyone
    assert run["latency_events"] == run["frames"]
    latency = run["latency_ms"]
    assert 0 <= latency["p50"] <= latency["p99"] <= latency["p99_9"] <= latency["max"]
    assert run["frames_per_second"] > 0 and run["tokens_per_second"] > 0 and run["seconds"] > 0


def test_fanout_delivers_every_token_to_every_subscriber(tmp_path):
    result = run_load("fanout", "--sessions", "2", "--subscribers", "3", "--tokens", "8",
                      "--tokens-per-second", "40,80", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "| 2x3 | 40 | 8 |" in result.stdout and "saturation" in result.stdout, result.stdout
    results = only_results(tmp_path, "fanout")
    assert [run["tokens_per_second_per_session"] for run in results["runs"]] == [40, 80]
    for run in results["runs"]:
        assert run["tokens_per_turn"] == 8 and run["offered_tokens_per_second"] == 6 * run["tokens_per_second_per_session"]
        assert_every_token_arrived(run, sessions=2, subscribers=3, tokens=8)
        assert run["gateway_rss_end_kb"] > 0 and run["gateway_cpu_cores"] >= 0
    assert results["saturation_tokens_per_second"]["gateway"] in (40, 80, None)
    assert results["peak_frames_per_second"]["gateway"] > 0


def test_the_lws_ceiling_speaks_enough_chat_v1_for_the_same_load_generator(tmp_path):
    ceiling = REPO_ROOT / ".build" / "bench" / "lws-ceiling"
    assert ceiling.exists(), f"{ceiling} is missing: `make bench-ceiling` builds it (make test does)"
    result = run_load("fanout", "--servers", "gateway,lws-ceiling", "--ceiling", str(ceiling), "--sessions", "2",
                      "--subscribers", "2", "--tokens", "6", "--tokens-per-second", "60", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    results = only_results(tmp_path, "fanout")
    assert [run["server"] for run in results["runs"]] == ["gateway", "lws-ceiling"]
    for run in results["runs"]:
        assert_every_token_arrived(run, sessions=2, subscribers=2, tokens=6)
    assert results["runs"][1]["merged_frames"] == 0, "the ceiling never merges"
    assert results["gateway_peak_frames_share_of_ceiling"] > 0
    idle = run_load("idle", "--servers", "lws-ceiling", "--ceiling", str(ceiling), "--connections", "5",
                    "--hold-seconds", "0", "--out", str(tmp_path))
    assert idle.returncode == 0, idle.stderr
    assert only_results(tmp_path, "idle")["runs"][0]["joined"] == 5


def test_fanout_against_a_running_gateway_trusts_its_usage_counts(gateway, tmp_path):
    # The fixture's demo model: 20 tokens at 400 tokens/s.
    result = subprocess.run([str(bench_binary()), "fanout", "--url", gateway.ws_url, "--pid", str(gateway.proc.pid),
                             "--sessions", "2", "--subscribers", "2", "--out", str(tmp_path)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    [run] = only_results(tmp_path, "fanout")["runs"]
    assert_every_token_arrived(run, sessions=2, subscribers=2, tokens=20)
    assert gateway.proc.poll() is None, "an attached gateway is left running"


def test_load_arguments_are_checked(tmp_path):
    assert run_bench("fanout", "--tokens", "5", "--seconds", "1").returncode == 2
    assert run_bench("idle", "--connections", "ten").returncode == 2
    assert run_bench("idle", "--connections", "10,0").returncode == 2
    no_pid = run_bench("idle", "--url", "ws://127.0.0.1:9/v1/ws", "--out", str(tmp_path))
    assert no_pid.returncode == 1 and "--pid" in no_pid.stderr
    off_loopback = run_bench("idle", "--url", "ws://10.1.2.3:80/v1/ws", "--pid", "1", "--out", str(tmp_path))
    assert off_loopback.returncode == 1 and "loopback" in off_loopback.stderr


# --------------------------------------------------------------------------- the HTTP upstream, nchan, ttft, stop, suite

NGINX = Path("/usr/sbin/nginx")
CEILING = REPO_ROOT / ".build" / "bench" / "lws-ceiling"


def require_peers() -> None:
    assert NGINX.exists(), f"{NGINX} is missing: scripts/install-deps.sh --test installs nginx and libnginx-mod-nchan"
    assert CEILING.exists(), f"{CEILING} is missing: `make bench-ceiling` builds it (make test does)"


def test_fanout_through_an_http_upstream_times_every_token_from_the_upstreams_write(tmp_path):
    result = run_load("fanout", "--servers", "gateway-upstream", "--sessions", "2", "--subscribers", "2", "--tokens", "7",
                      "--tokens-per-second", "70", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    [run] = only_results(tmp_path, "fanout")["runs"]
    assert run["server"] == "gateway-upstream"
    assert_every_token_arrived(run, sessions=2, subscribers=2, tokens=7)
    # Every token carries the upstream's write stamp, merged deltas included.
    token = run["token_latency_ms"]
    assert token["tokens"] == run["tokens_delivered"] == 28
    assert 0 <= token["p50"] <= token["p99"] <= token["max"] < 10_000
    assert run["source_cpu_cores"] >= 0


def test_fanout_against_nchan_publishes_every_token_over_http(tmp_path):
    require_peers()
    result = run_load("fanout", "--servers", "nchan", "--sessions", "2", "--subscribers", "3", "--tokens", "6",
                      "--tokens-per-second", "60", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "publisher posted" in result.stdout, result.stdout
    [run] = only_results(tmp_path, "fanout")["runs"]
    everyone = 6
    assert run["joined"] == run["complete_subscribers"] == run["turn_ends"] == everyone, run
    assert run["gaps"] == run["duplicates"] == 0 and run["errors"] == {}
    assert run["tokens_delivered"] == run["tokens_reported"] == everyone * 6
    # At most one post per token and one for the end, per channel; merged when the publisher ran late.
    publisher = run["publisher"]
    assert publisher["failures"] == {} and 2 * 2 <= publisher["posts"] <= 2 * 7
    assert run["frames"] == 3 * publisher["posts"], "every post reaches all three subscribers of its channel"
    assert run["token_latency_ms"]["tokens"] == run["tokens_delivered"]


def test_ttft_compares_the_gateway_with_the_same_upstream_called_directly(tmp_path):
    result = run_load("ttft", "--turns", "4", "--warmup", "1", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "| added by the gateway |" in result.stdout, result.stdout
    results = only_results(tmp_path, "ttft")
    for path in ("gateway", "direct"):
        assert results[path]["count"] == 4
        assert 0 < results[path]["min_ms"] <= results[path]["p50_ms"] <= results[path]["p99_ms"] <= results[path]["max_ms"] < 10_000
    added = results["added_ms"]
    assert added["p50"] == pytest.approx(results["gateway"]["p50_ms"] - results["direct"]["p50_ms"])
    assert added["p99"] == pytest.approx(results["gateway"]["p99_ms"] - results["direct"]["p99_ms"])


def test_stop_times_the_upstream_seeing_its_connection_closed(tmp_path):
    result = run_load("stop", "--stops", "3", "--after-ms", "20", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    results = only_results(tmp_path, "stop")
    for figure in ("stop_to_upstream_closed", "stop_to_turn_end"):
        assert results[figure]["count"] == 3
        assert 0 <= results[figure]["min_ms"] <= results[figure]["p50_ms"] <= results[figure]["max_ms"] < 10_000


def test_the_suite_writes_one_results_file_and_a_side_by_side_summary(tmp_path):
    require_peers()
    result = run_load("suite", "--profile", "smoke", "--out", str(tmp_path), timeout=300)
    assert result.returncode == 0, result.stderr
    [written] = list(tmp_path.glob("*-smoke.json"))
    results = json.loads(written.read_text())
    assert results["profile"] == "smoke" and results["elapsed_seconds"] > 0
    assert set(results["scenarios"]) == {"cost-replay", "idle", "fanout-rooms-2x3", "fanout-streams-4x1", "multinode",
                                         "ttft", "stop"}
    assert [run["layout"] for run in results["scenarios"]["multinode"]["runs"]] == ["memory-1", "redis-1", "redis-3"]
    assert [run["server"] for run in results["scenarios"]["idle"]["runs"]] == ["gateway", "lws-ceiling", "nchan"]
    fanout = results["scenarios"]["fanout-rooms-2x3"]["runs"]
    assert [run["server"] for run in fanout] == ["gateway", "gateway-upstream", "lws-ceiling", "nchan"]
    assert all(run["every_subscriber_complete"] for run in fanout), fanout

    rows = {row["figure"]: row for row in results["summary"]}
    peak = rows["fanout 2 x 3: peak delivered frames/s"]
    assert set(peak["values"]) == {"gateway", "gateway-upstream", "lws-ceiling", "nchan"}
    assert peak["gateway_over_ceiling"] == pytest.approx(peak["values"]["gateway"] / peak["values"]["lws-ceiling"])
    assert peak["gateway_over_nchan"] == pytest.approx(peak["values"]["gateway"] / peak["values"]["nchan"])
    assert peak["met"] == (peak["gateway_over_ceiling"] >= 0.6 and peak["gateway_over_nchan"] >= 1.5)
    [multinode] = [row for row in results["summary"] if row["figure"].startswith("multinode 2 x 3: most tokens/s")]
    assert multinode["target"] == "3 nodes ≥ 2.5x one node" and multinode["met"] in (True, False)
    assert multinode["values"]["gateway"] == pytest.approx(results["scenarios"]["multinode"]["nodes_over_one_node_tokens"])
    added = rows["ttft added by the gateway, p50 / p99 ms"]
    assert added["target"] and added["met"] in (True, False)
    idle = rows["idle, RSS per connection at 6 connections (bytes)"]
    assert idle["met"] is None and "19,000" in idle["note"], "judged only at the size the target names"

    markdown = written.with_suffix(".md").read_text()
    assert "| figure | gateway (demo model) | gateway (HTTP upstream) | lws-ceiling | nginx + nchan |" in markdown
    assert "stop -> upstream sees its connection closed" in markdown and "## Each scenario" in markdown


# --------------------------------------------------------------------------- multinode and redis-ops (redis-server of chat-bench's own)

REDIS_SERVER = Path("/usr/bin/redis-server")


def require_redis() -> None:
    assert REDIS_SERVER.exists(), f"{REDIS_SERVER} is missing: scripts/install-deps.sh --test installs redis-server"


def assert_redis_ops(ops: dict, turns: int, tokens: int) -> None:
    assert ops["turns"] == turns and ops["tokens_appended"] == turns * tokens
    assert ops["total_commands_processed"] > 0 and ops["commandstats_calls"] > 0
    assert ops["commands_per_token"] == pytest.approx(ops["total_commands_processed"] / (turns * tokens))
    assert ops["commands_per_turn"] == pytest.approx(ops["total_commands_processed"] / turns)
    # Every token is appended by one EVALSHA whose script PUBLISHes it (counted inside the script).
    assert ops["commands"]["evalsha"]["calls"] >= turns * tokens
    assert ops["commands"]["publish"]["calls"] >= turns * tokens
    assert "info" not in ops["commands"], "the readings' own INFO calls are left out"
    assert ops["background_commands_per_second"] is not None and ops["background_seconds"] > 0


def test_multinode_spreads_each_sessions_subscribers_over_three_nodes_on_one_redis(tmp_path):
    require_redis()
    result = run_load("multinode", "--sessions", "2", "--subscribers", "3", "--tokens", "8", "--tokens-per-second", "80",
                      "--background-seconds", "0.2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "| redis-3 | 2x3 | 80 | 8 |" in result.stdout and "3 nodes vs 1 node" in result.stdout, result.stdout
    results = only_results(tmp_path, "multinode")
    assert [run["layout"] for run in results["runs"]] == ["memory-1", "redis-1", "redis-3"]
    for run in results["runs"]:
        assert run["joined"] == run["complete_subscribers"] == run["turn_ends"] == 6, run
        assert run["gaps"] == run["duplicates"] == 0 and run["errors"] == {}, run
        assert run["tokens_delivered"] == 6 * 8
        assert len(run["nodes_cpu_cores"]) == len(run["nodes_rss_end_kb"]) == run["nodes"]
        assert all(rss > 0 for rss in run["nodes_rss_end_kb"])
        latency = run["latency_ms"]
        assert 0 <= latency["p50"] <= latency["p99"] <= latency["p99_9"] <= latency["max"]
    memory, redis_one, redis_three = results["runs"]
    assert memory["redis_ops"] is None and memory["redis_cpu_cores"] is None
    assert redis_three["client_processes"] == 3 and redis_three["redis_rss_end_kb"] > 0
    for run in (redis_one, redis_three):
        assert_redis_ops(run["redis_ops"], turns=2, tokens=8)
    assert results["target_ratio"] == 2.5 and results["target_met"] in (True, False)
    assert results["nodes_over_one_node_tokens"] == pytest.approx(
        results["peak_tokens_per_second_within_target"]["redis-3"] / results["peak_tokens_per_second_within_target"]["memory-1"])


def test_redis_ops_reports_commands_per_token_and_per_turn(tmp_path):
    require_redis()
    result = run_load("redis-ops", "--turns", "2", "--tokens", "10", "--background-seconds", "0.2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "per token" in result.stdout and "per turn" in result.stdout and "evalsha" in result.stdout, result.stdout
    results = only_results(tmp_path, "redis-ops")
    run = results["run"]
    assert run["layout"] == "redis-2" and run["complete_subscribers"] == 4, run
    assert_redis_ops(results, turns=2, tokens=10)


def test_multinode_arguments_are_checked(tmp_path):
    assert run_bench("multinode", "--nodes", "1").returncode == 2
    assert run_bench("multinode", "--servers", "gateway").returncode == 2
    assert run_bench("multinode", "--tokens", "5", "--seconds", "1").returncode == 2
    assert run_bench("redis-ops", "--turns", "0").returncode == 2
