"""End to end: the demo flow (``airflow dags test pai_train_deploy``) against the emulator, and the
same DAG shape made of plain Python tasks that take exactly the remote durations, in interleaved
pairs; the provider's own overhead is the median of the pairs' differences, and a breakdown from
the run's own log timestamps says where it goes (``e2e_breakdown.py``).

The baseline's remote work starts when its task would submit it: ``train`` returns the time it ran
and ``wait_for_training`` sleeps until that time plus the training instance's simulated timeline
(appears 0.5 s after the run call, WAIT_TIME and WAIT_RESOURCE phases of 10% of the run each, then
the run); ``deploy`` sleeps the EAS service's start time. A provider that added nothing would take
what the baseline takes. The flow is timed from train's ``execute`` to report's end (``airflow dags
test`` start-up and the first task's in-process API start are Airflow's, several seconds, and the
same for both); the whole ``dags test`` wall time is reported beside it.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import e2e_breakdown as bd
from common import ROOT, demo_scenario, emit, emulator, machine, median, parse_args, row

DAG_ID, PLAIN_DAG_ID = "pai_train_deploy", "bench_plain_train_deploy"
FLOW = "flow (train execute start -> report end)"
TARGET_S = 1.0

PLAIN_DAG = '''
import time
import pendulum
from airflow.providers.common.compat.sdk import DAG, task

with DAG(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 11, 1), catchup=False):
    @task
    def train(): return {{"instance_id": 1, "submitted": time.time()}}
    @task
    def wait_for_training(x): time.sleep(max(0.0, x["submitted"] + {train_s} - time.time()))
    @task
    def export_model(x): return "oss://pai-demo/models/churn/x/"
    @task
    def deploy(x): time.sleep({deploy_s}); return {{"service_name": "churn_model"}}
    @task
    def test_service(x): return {{"predictions": [0.5]}}
    @task(trigger_rule="one_failed")
    def rollback(x): pass
    @task(trigger_rule="all_done")
    def report(): return "ok"
    tested = test_service(deploy(export_model(wait_for_training(train()))))
    rb = rollback(tested)
    [tested, rb] >> report()
'''


def simulated(scenario: dict) -> tuple[float, float]:
    """(training instance timeline, deploy start) in seconds, from the emulator's own model."""
    from airflow_provider_pai.emulator import dataworks_model as m

    node = next(n for p in scenario["dataworks"]["projects"] for n in p["nodes"] if n["node_id"] == 700001)
    run = node.get("run_seconds", 5)
    wait = min(run / 10, m.WAIT_CAP_MS / 1000)
    svc = scenario["eas"]["services"][0]
    return m.APPEAR_MS / 1000 + 2 * wait + run, float(svc.get("start_seconds", 2))


# --sdk-preimported: a what-if, not a fix. The provider's `dags test` process imports the Alibaba SDKs
# at interpreter start (a sitecustomize on PYTHONPATH), before the flow span starts: the overhead left
# is the provider's without its SDK imports, which measures their share directly.
PREIMPORT = """
import alibabacloud_dataworks_public20200518.client, alibabacloud_dataworks_public20200518.models
import alibabacloud_dataworks_public20240518.client, alibabacloud_dataworks_public20240518.models
import alibabacloud_eas20210701.client, alibabacloud_eas20210701.models
import oss2
"""


def spread(values: list[float]) -> str:
    return f"{min(values):.2f} / {median(values):.2f} / {max(values):.2f}" if values else "n/a"


def main() -> None:
    args = parse_args(__doc__, {"--sdk-preimported": "what-if: the provider's process imports the SDKs before the flow"})
    import os

    from tests.airflow_harness import AirflowEnv

    scenario = demo_scenario()
    train_s, deploy_s = simulated(scenario)
    pairs = 1 if args.quick else 5
    runs: list[dict] = []
    profile: dict = {}
    with tempfile.TemporaryDirectory(prefix="pai-bench-airflow-") as home, emulator(scenario) as emu:
        env = AirflowEnv(Path(home))
        env.migrate()
        env.add_dag_file(ROOT / "example_dags" / "pai_train_deploy.py")
        (env.dags_folder / "bench_plain.py").write_text(
            PLAIN_DAG.format(dag_id=PLAIN_DAG_ID, train_s=train_s, deploy_s=deploy_s))

        preimport: dict[str, str] = {}
        if args.sdk_preimported:
            site = Path(home) / "preimport"
            site.mkdir()
            (site / "sitecustomize.py").write_text(PREIMPORT)
            preimport = {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}

        def one(kind: str, date: str, **extra: str) -> dict:
            dag_id = DAG_ID if kind == "provider" else PLAIN_DAG_ID
            if kind == "provider":
                extra = {**preimport, **extra}
            t0 = time.monotonic()
            result = env.dags_test(dag_id, logical_date=date, env={**emu.airflow_env(), **extra})
            wall = time.monotonic() - t0
            out = result.stdout + result.stderr
            states = env.task_states(dag_id)
            ok = result.returncode == 0 and states.get("report") == "success"
            spans = bd.spans(out)
            return {"kind": kind, "date": date, "wall_s": wall, "ok": ok, "states": states, "spans": spans,
                    "segments": bd.provider_segments(out, train_s, deploy_s) if kind == "provider" and ok else {},
                    "sdk_imports": bd.sdk_import_seconds(result.stderr) if "PYTHONPROFILEIMPORTTIME" in extra else {},
                    "tail": "" if ok else out[-1500:]}

        day = iter(range(1, 29))
        if not args.quick:  # warm-up, not counted: the first `dags test` of each DAG serializes it, fills caches
            one("plain", f"2026-10-{next(day):02d}")
            one("provider", f"2026-10-{next(day):02d}")
        for i in range(pairs):  # interleaved, the order alternating; each provider run its own business date
            for kind in (("provider", "plain") if i % 2 == 0 else ("plain", "provider")):
                runs.append({**one(kind, f"2026-11-{next(day):02d}"), "pair": i})
        # One more provider run with the import profiler on (slower: not timed), for the SDK import times.
        if not args.quick:
            profile = one("provider", f"2026-11-{next(day):02d}", PYTHONPROFILEIMPORTTIME="1")

    ok = all(r["ok"] for r in runs)
    prov = [r for r in runs if r["kind"] == "provider"]
    plain = [r for r in runs if r["kind"] == "plain"]
    diffs = [p["spans"].get(FLOW, float("nan")) - b["spans"].get(FLOW, float("nan"))
             for p, b in ((next(r for r in prov if r["pair"] == i), next(r for r in plain if r["pair"] == i))
                          for i in range(pairs))]
    wall_diffs = [next(r for r in prov if r["pair"] == i)["wall_s"] - next(r for r in plain if r["pair"] == i)["wall_s"]
                  for i in range(pairs)]
    sim = train_s + deploy_s
    rows = [
        row("simulated remote durations (s)", "", f"{sim:.1f}",
            note=f"training instance {train_s:.1f} s + EAS deploy start {deploy_s:.1f} s"),
    ]
    if all(FLOW in r["spans"] for r in runs):
        own = median(diffs)
        rows += [
            row("flow: train execute -> report end (s)", f"{median([r['spans'][FLOW] for r in plain]):.2f}",
                f"{median([r['spans'][FLOW] for r in prov]):.2f}",
                note=f"min / median / max: baseline {spread([r['spans'][FLOW] for r in plain])}, "
                     f"ours {spread([r['spans'][FLOW] for r in prov])}"),
            row("provider's own overhead per flow (s)", "", f"{own:.2f}", target=f"<= {TARGET_S:.0f} s",
                met=ok and own <= TARGET_S,
                note=f"median of {pairs} interleaved pairs' differences (ours - baseline), min / median / max "
                     f"{spread(diffs)}" + ("" if ok else "; A RUN FAILED, see details")),
        ]
    else:  # the markers are Airflow 3's `dags test` log lines: no flow span, no breakdown on Airflow 2
        rows.append(row("provider's own overhead per flow (s)", "", "n/a", target=f"<= {TARGET_S:.0f} s", met=False,
                        note="not measured: the flow span and the breakdown read Airflow 3's `dags test` log"))
    rows += [
        row("`airflow dags test` wall time (s)", f"{median([r['wall_s'] for r in plain]):.1f}",
            f"{median([r['wall_s'] for r in prov]):.1f}",
            note=f"reference (includes Airflow's start-up, seconds of noise): pair differences min / median / max "
                 f"{spread(wall_diffs)}"),
    ]
    segments = sorted({k for r in prov for k in r["segments"]}, key=lambda k: list(prov[0]["segments"]).index(k)
                      if prov and k in prov[0]["segments"] else 99)
    for key in segments:
        values = [r["segments"][key] for r in prov if key in r["segments"]]
        rows.append(row(f"breakdown: {key} (s)", "", f"{median(values):.2f}", note=f"min / median / max {spread(values)}"))
    for task in ("train", "wait_for_training", "export_model", "deploy", "test_service", "report"):
        key = f"task {task}"
        if not all(key in r["spans"] for r in runs):
            continue
        d = [next(r for r in prov if r["pair"] == i)["spans"].get(key, float("nan"))
             - next(r for r in plain if r["pair"] == i)["spans"].get(key, float("nan")) for i in range(pairs)]
        rows.append(row(f"per task, ours - baseline: {task} span (s)", "", f"{median(d):+.2f}",
                        note=f"min / median / max {spread(d)}; the first task's span includes Airflow's in-process "
                             "API start-up (noise)" if task == "train" else f"min / median / max {spread(d)}"))
    if profile.get("sdk_imports"):
        total = sum(profile["sdk_imports"].values())
        rows.append(row("SDK imports in the `dags test` process, once per process (s)", "", f"{total:.2f}",
                        note="PYTHONPROFILEIMPORTTIME, one extra untimed run: " + ", ".join(
                            f"{k} {v:.2f}" for k, v in sorted(profile["sdk_imports"].items(), key=lambda kv: -kv[1]))
                        + "; in a deployment every task process that calls a hook pays its SDK's share"))
    emit({
        "name": "e2e",
        "title": "End to end: the demo DAG (pai_train_deploy) against the emulator"
                 + (" (what-if: SDKs imported before the flow)" if args.sdk_preimported else ""),
        "method": (f"`airflow dags test` (SQLite, its own AIRFLOW_HOME), demo scenario; one warm-up run of each DAG, "
                   f"then {pairs} interleaved pairs (order alternating); the deferrable sensor and EAS operators run "
                   "their triggers in-process. Baseline: the same 7-task shape of plain Python tasks whose remote "
                   "work starts when train runs (wait sleeps until train's time + the training timeline; deploy "
                   "sleeps the EAS start time). Overhead = median of the pairs' differences of the flow span "
                   "(train's execute start to report's end, from the log's own timestamps); breakdown from the "
                   "provider run's log lines (benchmarks/e2e_breakdown.py); SDK import times from one more provider "
                   "run with PYTHONPROFILEIMPORTTIME=1."
                   + (" WHAT-IF, not the provider as shipped: the provider's `dags test` process imported the "
                      "Alibaba SDKs at interpreter start (sitecustomize), before the flow span."
                      if args.sdk_preimported else "")),
        "rows": rows,
        "details": {"runs": runs, "profile_run": {k: v for k, v in profile.items() if k != "tail"},
                    "machine": machine()},
    }, args)


if __name__ == "__main__":
    main()
