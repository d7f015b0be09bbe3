"""Distributed Airflow: the deployment of ``tests/distributed`` (CeleryExecutor with two workers,
two triggerers, PostgreSQL, Redis, api-server, scheduler, dag-processor, all on 127.0.0.1).

- **Calls per DAG run**: 50 concurrent runs of the example flow (each its own DataWorks node of a
  15 s training and its own EAS service with a 12 s rollout), emulator call counts / 50; baseline:
  the mean of 3 runs of the same DAG file with ``airflow dags test`` (single process, SQLite) and the
  cluster's deferrable settings (``AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE=True``).
- A phase that errors is reported as a missed target (``met`` False), never as an untargeted row.
- **Wall time of the 50 runs**: first trigger to last run terminal, through the REST API.
- **Triggerer CPU and memory per 1,000 waits**: 1,000 tasks started in the triggerers
  (``start_from_trigger``, the provider's ``DataWorksInstanceTrigger`` on 2 h instances); CPU
  seconds per minute and RSS of both triggerers' process groups (triggerer + trigger runner):
  from the first trigger to 60 s after all are deferred (start-up polls included), and the 60 s
  steady state alone, each minus the same idle measurement before.
- **Completing 1,000 waits**: the instances end (emulator clock advanced); time until all 1,000
  tasks succeeded (each resumes on a Celery worker for ``execute_complete``).
- **Time to resume after a triggerer kill**: ``kill -9`` of the triggerer holding a deferred wait;
  seconds until the API shows the trigger on the other triggerer, and until its first poll there.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from common import emit, parse_args, row

# The docs paragraph (the docstring above says the same as a list).
METHOD = (
    'The deployment of `tests/distributed` on one 2-core machine: CeleryExecutor with two workers '
    '(8 slots each), two triggerers (capacity 600 each), PostgreSQL 15 and Redis from Debian, '
    'api-server, scheduler, dag-processor, the emulator; heartbeat timeouts shortened as in the '
    'tests. Calls per DAG run: 50 concurrent runs of the example flow, each on its own DataWorks '
    'node (15 s training) and EAS service (12 s rollout), emulator call counts / 50; baseline: the '
    'mean of 3 runs of the same DAG file with `airflow dags test` (one process, SQLite) and the same '
    'deferrable settings (AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE=True). A phase that errors is a missed '
    'target. Wall time: first trigger '
    'to last run finished, through the REST API. Triggerer kill: `kill -9` of the triggerer holding '
    'a deferred wait, then seconds until the API shows the trigger on the other triggerer and until '
    "the other's first poll. 1,000 waits: 1,000 tasks started directly in the triggerers "
    "(`start_from_trigger`, the provider's `DataWorksInstanceTrigger`, 10 waits on each of 100 "
    "two-hour DataWorks runs, 10-task DAGs); CPU seconds per minute and RSS of both triggerers' "
    'process groups (triggerer and trigger runner) over 60 s with all 1,000 deferred, minus the '
    'same 60 s measured idle just before. Completing 1,000 waits: the instances end (emulator clock '
    'advanced), then the time until all 1,000 tasks finished, each resumed on a Celery worker for '
    '`execute_complete`.'
)

from airflow_provider_pai.emulator.process import EmulatorProcess
from tests.airflow_harness import AirflowEnv
from tests.distributed import conftest as dconf
from tests.distributed import scenarios as sc
from tests.distributed.deployment import TRIGGERERS, DistributedCluster
from tests.reliability.conftest import calls_of


BASELINE_RUNS = 3  # single-machine runs: the baseline is their mean per run, with its spread


def example_dag_source() -> str:
    """The example DAG as the cluster runs it: triggered, many runs at once."""
    return (dconf.EXAMPLE_DAG.read_text().replace('schedule="@daily"', "schedule=None")
            .replace("max_active_runs=1,", "max_active_runs=64,"))


def single_machine_calls(tmp: Path, runs: int = BASELINE_RUNS) -> list[dict[str, int]]:
    """``runs`` runs of the example flow with ``airflow dags test``, each on its own flow node and
    business date, with the cluster's DAG file and deferrable settings: the call counts of each run."""
    per_run = []
    with EmulatorProcess(dconf.distributed_scenario(), data_dir=tmp / "emu-single") as emu:
        env = AirflowEnv(tmp / "af-single")
        env.migrate()
        (env.dags_folder / dconf.EXAMPLE_DAG.name).write_text(example_dag_source())
        same = {**emu.airflow_env(), "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True"}  # as in the cluster
        for k in range(runs):
            i = dconf.FLOWS - 1 - k
            emu.reset_calls()
            result = env.dags_test("pai_train_deploy", conf=dconf.flow_conf(i), logical_date=f"2026-11-{20 + k}",
                                   env=same)
            if env.run_state("pai_train_deploy") != "success":
                raise RuntimeError(f"single-machine run {k + 1} failed:\n" + (result.stdout + result.stderr)[-3000:])
            per_run.append({f"{s}.{a}": n for s, acts in emu.calls().items() for a, n in acts.items() if n})
    return per_run


def mean_calls(per_run: list[dict[str, int]]) -> dict[str, float]:
    keys = set().union(*per_run)
    return {key: sum(r.get(key, 0) for r in per_run) / len(per_run) for key in keys}


def failed_phase(metric: str, exc: BaseException) -> dict:
    """A phase that errors is a missed target, never an untargeted row."""
    return row(metric, None, f"ERROR {exc!r}"[:300], target="completes", met=False)


def triggerer_cpu(af: DistributedCluster) -> float:
    """CPU seconds used so far by both triggerers' process groups."""
    return sum(sc.process_tree_usage(af.pid(t))[0] for t in TRIGGERERS)


def usage(af: DistributedCluster, seconds: float) -> tuple[float, float]:
    """CPU seconds per minute and RSS MiB of both triggerers, over ``seconds``."""
    before = triggerer_cpu(af)
    time.sleep(seconds)
    cpu_rss = [sc.process_tree_usage(af.pid(t)) for t in TRIGGERERS]
    cpu = sum(c for c, _ in cpu_rss) - before
    return cpu * 60 / seconds, sum(r for _, r in cpu_rss)


def main() -> None:
    args = parse_args(__doc__)
    runs = 4 if args.quick else 50
    waits = 50 if args.quick else dconf.WAITS
    window = 10 if args.quick else 60
    rows = []
    with tempfile.TemporaryDirectory(prefix="pai-bench-distributed-") as tmp:
        tmp = Path(tmp)
        try:
            singles = single_machine_calls(tmp, 1 if args.quick else BASELINE_RUNS)
        except Exception as exc:  # the baseline phase errored: a missed target; the cluster phases still run
            rows.append(failed_phase("single-machine baseline (airflow dags test)", exc))
            singles = []
        baseline = mean_calls(singles) if singles else {}
        with EmulatorProcess(dconf.distributed_scenario(), data_dir=tmp / "emu") as emu:
            os.environ.update(emu.airflow_env())  # the hook calls that start the 1,000 instances
            af = DistributedCluster(tmp / "airflow")
            af.extra_env.update(emu.airflow_env(), AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE="True")
            (af.dags_folder / dconf.EXAMPLE_DAG.name).write_text(example_dag_source())
            for dag_file in dconf.DAGS.glob("*.py"):
                af.add_dag_file(dag_file)
            with af:
                af.wait_for_dag(sc.EXAMPLE_DAG_ID)
                af.wait_for_dag(sc.SLOW_DAG_ID)
                try:
                    concurrent_runs(af, emu, rows, runs, baseline, singles)
                except Exception as exc:  # keep the figures measured so far
                    rows.append(failed_phase(f"{runs} concurrent runs of the example flow", exc))
                try:
                    kill_triggerer(af, emu, rows)
                except Exception as exc:
                    rows.append(failed_phase("resume after kill -9 of a triggerer", exc))
                try:
                    thousand_waits(af, emu, rows, waits, window)
                except Exception as exc:
                    rows.append(failed_phase(f"{waits} waits", exc))
    emit({"name": "distributed", "title": "Distributed Airflow (CeleryExecutor, PostgreSQL, Redis, two triggerers)",
          "method": METHOD + f" Command: `python benchmarks/bench_distributed.py` (run {runs} flows, {waits} waits).",
          "rows": rows}, args)


def concurrent_runs(af, emu, rows, runs, baseline, singles) -> None:
    # 1. concurrent runs
    result = sc.run_flows(af, emu, runs)
    ok = sum(f["state"] == "success" for f in result["per_flow"].values())
    once = all(f["dataworks_runs"] == 1 and f["eas_versions"] == 1 for f in result["per_flow"].values())
    per_run = sc.calls_per_run(result["calls"], runs)
    rows.append(row(f"{runs} concurrent runs of the example flow succeeded", None, f"{ok}/{runs}",
                    target=f"{runs}/{runs}", met=ok == runs))
    rows.append(row("one DataWorks run and one EAS version per run", None, "yes" if once else "NO",
                    target="yes", met=once))
    rows.append(row(f"wall time of the {runs} runs (s)", None, round(result["wall_s"], 1),
                    note="15 s trainings, 12 s rollouts; 2 workers x 8 slots on 2 cores"))
    if not singles:
        return
    totals = [sum(r.values()) for r in singles]
    total_single = sum(baseline.values())
    total_dist = sum(per_run.values())
    rows.append(row("API calls per DAG run (all services)", round(total_single, 2), round(total_dist, 2),
                    ratio=round(total_dist / total_single, 2),
                    note=f"baseline: mean of {len(singles)} `airflow dags test` runs (min {min(totals)}, max "
                         f"{max(totals)}) with the same DAG file and AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE=True"))
    for key in sorted(set(baseline) | set(per_run)):
        rows.append(row(f"calls per run: {key}", round(baseline.get(key, 0), 2), per_run.get(key, 0)))


def kill_triggerer(af, emu, rows) -> None:
    # 2. triggerer kill
    node_id, run_id = sc.slow_run(af)
    trig = sc.wait_until(lambda: sc.deferred_trigger(af, sc.SLOW_DAG_ID, run_id, "wait_for_training"),
                         300, "the wait deferred", af)
    time.sleep(5)
    polls = calls_of(emu, "dataworks", "GetInstance")
    af.kill(trig["triggerer"])
    killed = time.monotonic()
    sc.wait_until(lambda: (t := sc.deferred_trigger(af, sc.SLOW_DAG_ID, run_id, "wait_for_training"))
                  and t["job_id"] != trig["job_id"], 300, "the trigger moved", af, interval=0.2)
    moved_s = time.monotonic() - killed
    sc.wait_until(lambda: calls_of(emu, "dataworks", "GetInstance") > polls, 300, "a poll", interval=0.2)
    polled_s = time.monotonic() - killed
    af.start_component(trig["triggerer"])
    rows.append(row("resume after kill -9 of a triggerer: trigger reassigned (s)", None, round(moved_s, 1),
                    note="triggerer_health_check_threshold 10 s, job_heartbeat_sec 2 s (default 30 s / 5 s)"))
    rows.append(row("resume after kill -9 of a triggerer: first poll from the other (s)", None,
                    round(polled_s, 1), note="includes the trigger's own poll schedule"))
    emu.advance_clock(3700)
    sc.wait_all(af, sc.SLOW_DAG_ID, [run_id])


def thousand_waits(af, emu, rows, waits, window) -> None:
    # 3. 1,000 waits
    idle_cpu, idle_rss = usage(af, window)
    instance_ids = sc.start_instances(emu, max(waits // 10, 1), dconf.FIRST_WAIT_NODE)  # 10 waits per run
    dag_ids = sc.deploy_waits_dags(af, [instance_ids[i % len(instance_ids)] for i in range(waits)])
    started, cpu_at_start = time.monotonic(), triggerer_cpu(af)  # the start-up polls count too
    runs = sc.trigger_waits(af, dag_ids)
    status = sc.wait_until(lambda: (s := sc.waits_status(af, runs))["triggerers"]
                           and sum(s["triggerers"].values()) == waits and s, 900, "all deferred", af, interval=3)
    deferred_s = time.monotonic() - started
    busy_cpu, busy_rss = usage(af, window)
    span, span_cpu = time.monotonic() - started, triggerer_cpu(af) - cpu_at_start
    scale = 1000 / waits
    rows.append(row(f"{waits} waits deferred in the triggerers (s)", None, round(deferred_s, 1),
                    note=f"spread: {status['triggerers']}; no worker involved (start_from_trigger)"))
    rows.append(row("triggerer CPU per 1,000 waits, start-up included (CPU s per minute, both triggerers)",
                    round(idle_cpu, 2), round((span_cpu * 60 / span - idle_cpu) * scale, 2),
                    note=f"from the first trigger to {window} s after all deferred ({span:.0f} s): each wait's "
                         "start-up polls included; minus the idle rate"))
    rows.append(row("triggerer CPU per 1,000 waits, steady state (CPU s per minute, both triggerers)",
                    round(idle_cpu, 2), round((busy_cpu - idle_cpu) * scale, 2),
                    note=f"the {window} s after all deferred only; baseline: both triggerers idle; ours: busy minus idle"))
    rows.append(row("triggerer RSS per 1,000 waits (MiB, both triggerers)", round(idle_rss, 1),
                    round((busy_rss - idle_rss) * scale, 1), note="baseline: idle RSS of both process groups"))
    emu.advance_clock(7300)  # every instance ends now; each task resumes on a worker
    ended, limit = time.monotonic(), 900
    while True:
        try:
            done = sc.waits_status(af, runs)
        except (OSError, TimeoutError):  # the API server busy with 1,000 resumes: ask again
            if time.monotonic() - ended > limit:
                raise
            time.sleep(5)
            continue
        finished = done["states"].get("success", 0) + done["states"].get("failed", 0)
        if finished == waits or time.monotonic() - ended > limit:
            break
        time.sleep(5)
    took = time.monotonic() - ended
    succeeded = done["states"].get("success", 0)
    rows.append(row(f"waits resumed and completed on the workers after the instances ended", None,
                    f"{succeeded}/{waits} in {took:.0f} s", target=f"{waits}/{waits}", met=succeeded == waits,
                    note=f"each runs execute_complete on a Celery worker (2 x 8 slots); by worker: {dict(Counter(done['ran_on']))}"))


if __name__ == "__main__":
    main()
