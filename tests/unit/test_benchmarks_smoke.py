"""Each benchmark runs in its ``--quick`` configuration and reports well-formed results.

Not a timed test: figures from tiny sizes mean nothing, so no target is asserted here. What is
asserted is that each harness measured what it claims (the waits ended, the copies verified, the
triggers all finished) and that run_all renders the results as docs/benchmarks.md tables.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
ROW_KEYS = {"metric", "baseline", "ours", "ratio", "target", "met", "note"}
FAST = ["parse", "polling", "triggerer", "export", "task_start"]


def run_quick(names: list[str], tmp_path: Path) -> dict[str, dict]:
    """Run the scripts side by side (each mostly waits on imports and the emulator)."""
    procs = {}
    for name in names:
        out = tmp_path / f"{name}.json"
        log = open(tmp_path / f"{name}.log", "w")
        cmd = [sys.executable, str(BENCH / f"bench_{name}.py"), "--quick", "--json", str(out)]
        procs[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT), out, log)
    results = {}
    for name, (proc, out, log) in procs.items():
        code = proc.wait(timeout=600)
        log.close()
        tail = (tmp_path / f"{name}.log").read_text(errors="replace")[-3000:]
        assert code == 0 and out.exists(), f"bench_{name}.py --quick failed:\n{tail}"
        results[name] = json.loads(out.read_text())
    return results


def check_well_formed(result: dict, name: str) -> None:
    assert result["name"] == name and result["quick"] is True
    assert result["title"] and result["method"]
    assert result["rows"], "no figures"
    for r in result["rows"]:
        assert set(r) == ROW_KEYS, r
        assert r["met"] in (True, False, None)
        assert r["metric"] and (r["ours"] not in ("", None) or r["baseline"] not in ("", None))
        if r["met"] is not None:
            assert r["target"], f"a judged row needs its target: {r}"


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory) -> dict[str, dict]:
    return run_quick(FAST, tmp_path_factory.mktemp("bench"))


@pytest.mark.parametrize("name", FAST)
def test_benchmark_quick_run_is_well_formed(quick_results, name):
    check_well_formed(quick_results[name], name)


def test_parse_benchmark_times_every_module_and_sees_no_sdk(quick_results):
    samples = quick_results["parse"]["details"]["samples_ms"]
    assert "airflow.providers.standard.operators.python" in samples
    assert all(len(v) >= 1 and all(x > 0 for x in v) for v in samples.values())
    provider_rows = [r for r in quick_results["parse"]["rows"] if r["target"]]
    assert provider_rows and all("no SDK imported" in r["note"] for r in provider_rows)
    # The whole DAG file is measured too, the same 7 tasks on both sides.
    assert any(r["metric"].startswith("whole DAG file") and "7 tasks each" in r["note"] for r in provider_rows)


def test_polling_benchmark_waits_end_and_calls_are_counted(quick_results):
    runs = quick_results["polling"]["details"]["runs"]
    assert {(r["api"], r["case"]) for r in runs} == {
        (api, case) for api in ("2020-05-18", "2024-05-18")
        for case in ("with history (0.96-1.03x, median = run)", "history spread +-30% (0.7-1.3x, median 0.9x)",
                     "history median 0.78x (run longer than every past run)",
                     "history median 1.3x (run shorter than every past run)", "run 3x its history (0.3-0.36x)",
                     "no history", "no history, stream_log=False")}
    assert all(r["status"] == "SUCCESS" and r["calls"] > 0 and r["delay_s"] >= 0 for r in runs)
    # Each API's own actions only: the run history was read, the instance polled through that API.
    actions = {"2020-05-18": ("ListInstances", "GetInstance", {"GetInstance", "GetInstanceLog", "ListInstances"}),
               "2024-05-18": ("ListTaskInstances", "GetTaskInstance",
                              {"GetNode", "GetTaskInstance", "GetTaskInstanceLog", "ListTaskInstances"})}
    for r in runs:
        history, poll, allowed = actions[r["api"]]
        if r["label"] == "fixed 30 s":
            assert set(r["by_action"]) == {poll}, r
        else:
            assert r["by_action"].get(history, 0) >= 1 and r["by_action"].get(poll, 0) >= 1, r
            assert set(r["by_action"]) <= allowed, r
        if not r["stream_log"] and r["label"] != "fixed 30 s":  # the log once, at the end
            assert sum(n for action, n in r["by_action"].items() if action.endswith("Log")) == 1, r
    assert {r["metric"].split(",")[0] for r in quick_results["polling"]["rows"]} == {"2020-05-18", "2024-05-18"}


def test_triggerer_benchmark_all_waits_succeed(quick_results):
    runs = quick_results["triggerer"]["details"]["runs"]
    assert {r["kind"] for r in runs} == {"floor", "triggers", "triggers+tracemalloc"}
    assert all(r["ok"] == r["n"] and r["polls"] >= r["n"] and r["cpu_s"] > 0 for r in runs)
    assert next(r for r in runs if r["kind"] == "triggers+tracemalloc")["traced_mb"] > 0


def test_export_benchmark_copies_verified_and_ours_reads_no_object(quick_results):
    details = quick_results["export"]["details"]
    assert all(r["copy_ok"] for r in details["runs"])
    for r in details["runs"]:
        if r["kind"] == "ours":
            assert "GetObject" not in r["oss_calls"] and r["worker_bytes"] < details["size"]
        else:
            assert r["oss_calls"].get("GetObject") == 1 and r["worker_bytes"] >= 2 * details["size"]


def test_task_start_benchmark_times_each_task_and_says_what_it_loaded(quick_results):
    rows = {r["metric"].split(":")[0]: r for r in quick_results["task_start"]["rows"]}
    assert set(rows) == {"train", "wait", "export", "deploy"}
    assert all(float(r["ours"]) > 0 for r in rows.values())
    # the export task's process loads oss2 and no other SDK (no DataWorks SDK for its region check)
    assert "SDKs loaded: oss2" in rows["export"]["note"] and "dataworks" not in rows["export"]["note"]


def test_run_all_renders_a_table_per_benchmark(quick_results):
    sys.path.insert(0, str(BENCH))
    try:
        import run_all
    finally:
        sys.path.remove(str(BENCH))
    results = [{**quick_results[n], "seconds": 1.0} for n in FAST]
    results.append({"name": "e2e", "title": "End to end", "error": "exit 1", "log_tail": "boom", "seconds": 1.0})
    text = run_all.render(results, quick=True, command="python benchmarks/run_all.py --quick", total=5.0)
    assert text.startswith("# Benchmarks") and "quick mode: figures meaningless" in text
    for n in FAST:
        assert f"## {quick_results[n]['title']}" in text
    assert text.count("| Metric | Baseline | Ours | Ratio | Target | Met? | Note |") == len(FAST)
    assert "The benchmark failed (exit 1)" in text and "boom" in text


@pytest.mark.slow
def test_e2e_benchmark_quick_run(tmp_path):
    result = run_quick(["e2e"], tmp_path)["e2e"]
    check_well_formed(result, "e2e")
    runs = result["details"]["runs"]
    assert {r["kind"] for r in runs} == {"provider", "plain"}
    assert all(r["ok"] and r["states"]["report"] == "success" for r in runs), runs
