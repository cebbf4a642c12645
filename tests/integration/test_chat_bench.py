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
