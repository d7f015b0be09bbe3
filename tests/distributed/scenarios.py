"""The distributed scenarios as plain functions over (deployment, emulator), shared by the tests and
``benchmarks/bench_distributed.py``: each triggers DAG runs through the REST API, disrupts the
deployment, and returns what the emulator and Airflow recorded."""

from __future__ import annotations

import datetime
import itertools
import time
from collections import Counter

from tests.distributed.conftest import FIRST_FLOW_NODE, FIRST_SLOW_NODE, flow_conf
from tests.distributed.deployment import DistributedCluster
from tests.reliability.conftest import calls_of

EXAMPLE_DAG_ID = "pai_train_deploy"
SLOW_DAG_ID = "distributed_slow_training"
TERMINAL = ("success", "failed")

# Each scenario takes flows and slow nodes nobody used before, so its counts are its own.
_flows = itertools.count()
_slow = itertools.count()
_dates = itertools.count(1)


def next_flows(n: int) -> list[int]:
    return [next(_flows) for _ in range(n)]


def next_slow() -> int:
    return next(_slow)


def unique_date() -> str:
    """A logical date no other run here has: after the DAGs' start dates, before now (hourly steps)."""
    step = datetime.timedelta(hours=next(_dates))
    return (datetime.datetime(2026, 11, 2) + step).strftime("%Y-%m-%dT%H:00:00Z")


def instances_per_node(emu) -> Counter:
    """DataWorks runs started per node id."""
    return Counter(inst["node_id"] for inst in emu.state()["dataworks"]["instances"].values())


def versions_per_service(emu) -> dict[str, int]:
    return {name: len(svc.get("versions", [])) for name, svc in emu.state()["eas"]["services"].items()}


def trigger_flows(af: DistributedCluster, flows: list[int]) -> dict[int, str]:
    return {i: af.trigger(EXAMPLE_DAG_ID, logical_date=unique_date(), conf=flow_conf(i)) for i in flows}


def wait_all(af: DistributedCluster, dag_id: str, run_ids, timeout: float = 900) -> dict[str, str]:
    """Wait until every run is terminal; returns run id -> state. One list call per round; an API
    server too busy to answer within its timeout is asked again (the deployment is under load)."""
    pending, states = set(run_ids), {}
    deadline = time.monotonic() + timeout
    while pending:
        af._check_alive()
        try:
            runs = af.api("GET", f"/dags/{dag_id}/dagRuns?limit=1000")["dag_runs"]
        except (OSError, TimeoutError):
            runs = []
        for run in runs:
            if run["dag_run_id"] in pending and run["state"] in TERMINAL:
                states[run["dag_run_id"]] = run["state"]
                pending.discard(run["dag_run_id"])
        if pending:
            if time.monotonic() > deadline:
                stuck = {r: task_states(af, dag_id, r) for r in sorted(pending)[:3]}
                raise TimeoutError(f"{len(pending)} runs of {dag_id} not finished in {timeout}s: {stuck}\n{af.output_tail()}")
            time.sleep(3)
    return states


def task_states(af: DistributedCluster, dag_id: str, run_id: str) -> dict[str, str]:
    return {task: ti["state"] for task, ti in af.task_instances(dag_id, run_id).items()}


def run_flows(af: DistributedCluster, emu, n: int, *, during=None) -> dict:
    """``n`` concurrent runs of the example flow, each on its own node and service.

    ``during(af, emu, run_ids)`` disrupts the deployment once the runs are under way. Returns the
    run states, the wall time from the first trigger to the last terminal run, the calls made, and
    per flow the DataWorks runs started and the EAS versions added.
    """
    flows = next_flows(n)
    before_instances, before_versions = instances_per_node(emu), versions_per_service(emu)
    emu.reset_calls()
    started = time.monotonic()
    runs = trigger_flows(af, flows)
    if during is not None:
        during(af, emu, runs)
    states = wait_all(af, EXAMPLE_DAG_ID, runs.values())
    wall = time.monotonic() - started
    after_instances, after_versions = instances_per_node(emu), versions_per_service(emu)
    per_flow = {
        i: {"dataworks_runs": after_instances[FIRST_FLOW_NODE + i] - before_instances[FIRST_FLOW_NODE + i],
            "eas_versions": after_versions[f"flow_{i}"] - before_versions[f"flow_{i}"],
            "state": states[runs[i]]}
        for i in flows
    }
    return {"runs": runs, "states": states, "wall_s": wall, "calls": emu.calls(), "per_flow": per_flow}


def calls_per_run(calls: dict, runs: int) -> dict[str, float]:
    return {f"{svc}.{action}": round(count / runs, 2)
            for svc, actions in sorted(calls.items()) for action, count in sorted(actions.items()) if count}


# kill and restart helpers ---------------------------------------------------------------------

def wait_until(predicate, timeout: float, what: str, af: DistributedCluster | None = None, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached in {timeout}s" + (f"\n{af.output_tail()}" if af else ""))
        time.sleep(interval)


def deferred_trigger(af: DistributedCluster, dag_id: str, run_id: str, task_id: str) -> dict | None:
    """The task's trigger and the triggerer job running it, once it is deferred and picked up."""
    ti = af.task_instance(dag_id, run_id, task_id)
    if ti["state"] == "deferred" and ti.get("trigger") and ti.get("triggerer_job"):
        return {"trigger_id": ti["trigger"]["id"], "job_id": ti["triggerer_job"]["id"],
                "triggerer": ti["triggerer_job"]["hostname"]}
    return None


def slow_run(af: DistributedCluster) -> tuple[int, str]:
    """Start the hour-long training of a fresh slow node, waited on by a deferrable sensor."""
    i = next_slow()
    return FIRST_SLOW_NODE + i, af.trigger(SLOW_DAG_ID, logical_date=unique_date(), conf={"node_id": FIRST_SLOW_NODE + i})


def run_cycle_calls(emu) -> int:
    return calls_of(emu, "dataworks", "RunCycleDagNodes")


# mass waits ------------------------------------------------------------------------------------

WAITS_PER_DAG = 10  # as in dags/distributed_dags.py


def waits_dag_ids(n: int) -> list[str]:
    return [f"distributed_waits_{i:02d}" for i in range((n + WAITS_PER_DAG - 1) // WAITS_PER_DAG)]


def start_instances(emu, n: int, first_node: int, bizdate: str = "2026-11-02") -> list[int]:
    """Start ``n`` long DataWorks runs (100 per wait node) straight through the hook, as another
    system would; returns their instance ids."""
    from concurrent.futures import ThreadPoolExecutor

    from airflow_provider_pai.hooks.dataworks import DataWorksHook

    hook = DataWorksHook()

    def start(i: int) -> int:
        dag_ids = hook.run_cycle_dag_nodes(node_id=first_node + i // 100, bizdate=bizdate, name=f"wait_{i}")
        # A DAG's instances appear shortly after the run call (as on DataWorks): look until they do.
        found = wait_until(lambda: hook.list_instances(project_id=10001, dag_id=dag_ids[0]), 60,
                           f"the instance of DataWorks DAG {dag_ids[0]}", interval=0.3)
        return int(found[0]["InstanceId"])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(start, range(n)))


def deploy_waits_dags(af: DistributedCluster, instance_ids: list[int]) -> list[str]:
    """One ``start_from_trigger`` task per instance (tests/distributed/dags/distributed_dags.py),
    parsed and unpaused; returns the DAG ids."""
    import json

    (af.dags_folder / "waits.json").write_text(json.dumps(instance_ids))
    (af.dags_folder / "distributed_dags.py").touch()  # re-parsed now, with the new list
    dag_ids = waits_dag_ids(len(instance_ids))
    af.wait_for_dag(dag_ids[-1], timeout=300)  # the file is parsed whole: the last one there, all are
    for dag_id in dag_ids:
        af.wait_for_dag(dag_id, timeout=60)
    return dag_ids


def trigger_waits(af: DistributedCluster, dag_ids: list[str], pace_s: float = 0.5) -> dict[str, str]:
    """One run per waits DAG, paced so the triggerers take the new triggers in small batches."""
    runs = {}
    for dag_id in dag_ids:
        runs[dag_id] = af.trigger(dag_id, logical_date=unique_date())
        time.sleep(pace_s)
    return runs


def waits_status(af: DistributedCluster, runs: dict[str, str]) -> dict:
    """Task states of the waits runs, and which triggerer (by component name) holds each deferred one."""
    states, holders, hosts = Counter(), Counter(), Counter()
    total, offset = 0, 0
    while True:  # every waits DAG at once, a page at a time; only these runs' task instances
        page = af.api("GET", "/dags/~/dagRuns/~/taskInstances?dag_id_pattern=distributed_waits"
                             f"&limit=1000&offset={offset}")["task_instances"]
        offset += len(page)
        for ti in page:
            if runs.get(ti["dag_id"]) != ti["dag_run_id"]:
                continue
            total += 1
            states[ti["state"]] += 1
            if ti["state"] == "deferred" and ti.get("triggerer_job"):
                holders[ti["triggerer_job"]["hostname"]] += 1
            if ti.get("hostname"):
                hosts[ti["hostname"]] += 1
        if len(page) < 1000:
            break
    return {"total": total, "states": dict(states), "triggerers": dict(holders), "ran_on": dict(hosts)}


def process_tree_usage(root_pid: int) -> tuple[float, float]:
    """(CPU seconds, RSS MiB) of a component's process group: the component and its subprocesses."""
    import os
    from pathlib import Path

    ticks = os.sysconf("SC_CLK_TCK")
    cpu = rss = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != root_pid:  # field 5 (pgrp): the component leads its own group
                continue
            cpu += (int(fields[11]) + int(fields[12])) / ticks
            rss += int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (OSError, IndexError, ValueError):
            continue
    return cpu, rss
