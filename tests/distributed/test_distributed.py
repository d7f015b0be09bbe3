"""The provider on a distributed Airflow 3: CeleryExecutor with two workers, two triggerers,
PostgreSQL, Redis, all on 127.0.0.1 (see conftest.py), each scenario clean and again under 30 %
throttling plus 10 % HTTP 500 from DataWorks, EAS and OSS. Checked through the REST API and the
emulator's call counts and state only.

CI runs all of it (50 concurrent flows per phase); benchmarks/bench_distributed.py
measures what this only checks."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import pytest

from airflow_provider_pai.version_compat import AIRFLOW_V_3_3_PLUS
from tests.distributed import scenarios as sc
from tests.distributed.conftest import CONCURRENT_RUNS, FIRST_WAIT_NODE, WAITS
from tests.distributed.deployment import TRIGGERERS, WORKERS
from tests.reliability.conftest import calls_of

pytestmark = [pytest.mark.slow, pytest.mark.distributed,
              pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="the distributed deployment is Airflow 3.3's components")]

# Every Alibaba Cloud API (not the model's own prediction endpoint: a 5xx from the model is the
# example's test failing, which is the rollback path, not an outage).
FAULT_RULES = tuple({"service": service, "action": "*", "kind": kind, "rate": rate}
                    for service in ("dataworks", "eas", "oss") for kind, rate in (("throttle", 0.3), ("error", 0.1)))


@pytest.fixture(params=["clean", "faults"])
def faults(request, deployment):
    """Every scenario twice: as is, and with 30 % throttling and 10 % 5xx on every API call."""
    _, emu = deployment
    emu.clear_faults()
    if request.param == "faults":
        for rule in FAULT_RULES:
            emu.fault(**rule)
    yield request.param
    emu.clear_faults()


def _assert_each_flow_once(result: dict) -> None:
    """Each run started exactly one DataWorks run and added at most one EAS version (one if it succeeded)."""
    for i, flow in result["per_flow"].items():
        assert flow["dataworks_runs"] == 1, (i, flow)
        assert flow["eas_versions"] <= 1, (i, flow)
        if flow["state"] == "success":
            assert flow["eas_versions"] == 1, (i, flow)


def test_concurrent_example_flows_complete_once_each(deployment, faults):
    af, emu = deployment
    af.wait_for_dag(sc.EXAMPLE_DAG_ID)
    result = sc.run_flows(af, emu, CONCURRENT_RUNS)
    failed = {i: sc.task_states(af, sc.EXAMPLE_DAG_ID, result["runs"][i])
              for i, flow in result["per_flow"].items() if flow["state"] != "success"}
    assert not failed, failed
    _assert_each_flow_once(result)


def test_triggerer_killed_mid_deferral_resumes_on_the_other(deployment, faults):
    af, emu = deployment
    af.wait_for_dag(sc.SLOW_DAG_ID)
    node_id, run_id = sc.slow_run(af)
    trig = sc.wait_until(lambda: sc.deferred_trigger(af, sc.SLOW_DAG_ID, run_id, "wait_for_training"), 180,
                         "the wait deferred to a triggerer", af)
    owner = trig["triggerer"]
    assert owner in TRIGGERERS, trig
    polls = calls_of(emu, "dataworks", "GetInstance")
    sc.wait_until(lambda: calls_of(emu, "dataworks", "GetInstance") > polls, 60, "the trigger polling")

    af.kill(owner)  # kill -9, its trigger runner subprocess too
    killed_at = time.monotonic()
    moved = sc.wait_until(
        lambda: (t := sc.deferred_trigger(af, sc.SLOW_DAG_ID, run_id, "wait_for_training")) and
        t["job_id"] != trig["job_id"] and t, 120, "the trigger moving to the other triggerer", af)
    resumed_after = time.monotonic() - killed_at
    assert moved["trigger_id"] == trig["trigger_id"]  # the same trigger, not a new deferral
    assert moved["triggerer"] in TRIGGERERS and moved["triggerer"] != owner
    polls = calls_of(emu, "dataworks", "GetInstance")
    sc.wait_until(lambda: calls_of(emu, "dataworks", "GetInstance") > polls, 60, "the resumed trigger polling")
    af.start_component(owner)  # back to two triggerers for the next scenario

    emu.advance_clock(3700)  # the hour-long training ends now
    assert sc.wait_all(af, sc.SLOW_DAG_ID, [run_id])[run_id] == "success", sc.task_states(af, sc.SLOW_DAG_ID, run_id)
    assert sc.instances_per_node(emu)[node_id] == 1          # nothing started twice
    ti = af.task_instance(sc.SLOW_DAG_ID, run_id, "wait_for_training")
    assert ti["try_number"] == 1  # resumed, not retried
    log = af.task_log(sc.SLOW_DAG_ID, run_id, "wait_for_training")
    # The log continues: the deferral, then the resumed trigger's status changes, then the end.
    assert "Pausing task as DEFERRED" in log, log[-3000:]
    assert f"slow {node_id - 720000}: done" in log, log[-3000:]
    print(f"trigger {trig['trigger_id']} moved from job {trig['job_id']} to {moved['job_id']} "
          f"{resumed_after:.1f} s after kill -9 of {owner}")


def test_celery_worker_killed_mid_task_retry_reattaches_on_the_other(deployment, faults):
    af, emu = deployment
    dag_id = "reliability_kill_train"
    af.wait_for_dag(dag_id)
    starts_before = calls_of(emu, "dataworks", "RunCycleDagNodes")
    run_id = af.trigger(dag_id, logical_date=sc.unique_date())
    af.wait_for_task_state(dag_id, run_id, "train", ("running",), timeout=180)
    sc.wait_until(lambda: calls_of(emu, "dataworks", "RunCycleDagNodes") > starts_before, 120, "the run started", af)
    polls = calls_of(emu, "dataworks", "GetInstance")
    sc.wait_until(lambda: calls_of(emu, "dataworks", "GetInstance") > polls + 1, 120, "the task in its wait loop", af)
    ti = af.task_instance(dag_id, run_id, "train")
    victim = ti["hostname"]  # the worker component running it (tests/distributed/hostname.py)
    assert victim in WORKERS, ti
    pids = sc.wait_until(lambda: af.task_process_pids(ti["id"]), 30, "the task process")
    # kill -9 of the whole worker, as a lost machine: the Celery parent and pool (its process group,
    # the supervisor included) and the task process (a group of its own).
    af.kill(victim)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # it may have died with its supervisor
            os.kill(pid, signal.SIGKILL)

    retry = af.wait_for_task_state(dag_id, run_id, "train", ("running",), try_number=2, timeout=240)
    emu.advance_clock(3700)
    assert sc.wait_all(af, dag_id, [run_id])[run_id] == "success", sc.task_states(af, dag_id, run_id)
    assert af.task_instance(dag_id, run_id, "train")["try_number"] == 2
    assert "Reattaching" in af.task_log(dag_id, run_id, "train", 2)
    assert sc.instances_per_node(emu)[700009] == _slow_train_runs(af), "a second DataWorks run was started"
    assert retry["hostname"] in WORKERS and retry["hostname"] != victim  # the other worker
    af.start_component(victim)
    af.wait_for_workers(len(WORKERS))


def _slow_train_runs(af) -> int:
    """How many runs of reliability_kill_train exist: each must have started exactly one DataWorks run."""
    return len(af.api("GET", "/dags/reliability_kill_train/dagRuns?limit=100")["dag_runs"])


def test_postgres_and_redis_restarted_mid_run(deployment, faults):
    """The metadata DB restarted while runs train and wait, then the broker (its queue is lost:
    ``--save ''``). What docs/deployment.md promises: with retries, every run ends ``success`` (the
    orphan check and task_queued_timeout re-queue what the outages stranded, a retry reattaches), and
    never a second DataWorks run or EAS version. Before (issue 25 item 3) a run that failed passed."""
    af, emu = deployment
    af.wait_for_dag(sc.EXAMPLE_DAG_ID)
    restarts_before = len(af.restarts)
    happened = []

    def during(af, emu, runs):
        sc.wait_until(lambda: calls_of(emu, "dataworks", "GetInstance") > 0, 180, "the runs under way", af)
        pid_before = af.postgres.data.joinpath("postmaster.pid").read_text().split()[0]
        af.postgres.restart()
        happened.append(("postgres", pid_before, af.postgres.data.joinpath("postmaster.pid").read_text().split()[0]))
        polls = calls_of(emu, "dataworks", "GetInstance") + calls_of(emu, "eas", "DescribeService")
        sc.wait_until(lambda: calls_of(emu, "dataworks", "GetInstance") + calls_of(emu, "eas", "DescribeService")
                      > polls + 4, 180, "the runs going on after the PostgreSQL restart", af)
        redis_before = af.redis._proc.pid
        af.redis.restart()
        happened.append(("redis", redis_before, af.redis._proc.pid))
        # Still mid-run when the broker went: a restart after every run ended would test nothing.
        assert any(af.run(sc.EXAMPLE_DAG_ID, r)["state"] not in ("success", "failed") for r in runs.values())

    result = sc.run_flows(af, emu, 4, during=during)
    # Both servers really restarted (a new process each), while runs were under way.
    assert [name for name, _, _ in happened] == ["postgres", "redis"], happened
    assert all(before != after for _, before, after in happened), happened
    _assert_each_flow_once(result)
    not_success = {i: sc.task_states(af, sc.EXAMPLE_DAG_ID, result["runs"][i])
                   for i, flow in result["per_flow"].items() if flow["state"] != "success"}
    assert not not_success, not_success
    print(f"restarts: runs {sorted(f['state'] for f in result['per_flow'].values())}, "
          f"components that exited and were started again: {af.restarts[restarts_before:]}")


@pytest.mark.parametrize("faults", ["faults"], indirect=True)  # the clean case is the benchmark's
def test_a_thousand_waits_start_in_and_spread_over_both_triggerers(deployment, faults, monkeypatch):
    """1,000 deferred waits with no worker slot: each task starts in a triggerer (start_from_trigger)
    running the provider's DataWorksInstanceTrigger (10 waits per DataWorks run, 100 runs), polling
    under the fault rates; capacity 600 each, so both triggerers must take some."""
    af, emu = deployment
    for var, value in emu.airflow_env().items():  # this process starts the DataWorks runs
        monkeypatch.setenv(var, value)
    emu.clear_faults()  # the runs are started by "another system", not under test
    instance_ids = sc.start_instances(emu, WAITS // 10, FIRST_WAIT_NODE)
    for rule in FAULT_RULES:
        emu.fault(**rule)
    assert len(set(instance_ids)) == WAITS // 10
    dag_ids = sc.deploy_waits_dags(af, [instance_ids[i % len(instance_ids)] for i in range(WAITS)])
    polls = calls_of(emu, "dataworks", "GetInstance")
    runs = sc.trigger_waits(af, dag_ids)
    status = sc.wait_until(
        lambda: (s := sc.waits_status(af, runs))["triggerers"] and sum(s["triggerers"].values()) == WAITS and s,
        420, "all waits deferred and picked up by the triggerers", af, interval=5)
    assert status["total"] == WAITS and status["states"] == {"deferred": WAITS}, status
    assert set(status["triggerers"]) == set(TRIGGERERS) and all(status["triggerers"].values()), status
    assert not status["ran_on"] or set(status["ran_on"]) <= set(TRIGGERERS), status  # no worker ran one
    sc.wait_until(lambda: calls_of(emu, "dataworks", "GetInstance") >= polls + WAITS, 180,
                  "every trigger polling its instance", af)  # throttled polls count too: each trigger polls
    # End the runs: the waits are cancelled, not completed (1,000 worker resumes are the benchmark's).
    for dag_id, run_id in runs.items():
        af.api("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", {"state": "failed"})
    sc.wait_until(lambda: "deferred" not in sc.waits_status(af, runs)["states"], 180, "the waits cancelled", af)
    assert calls_of(emu, "dataworks", "StopInstance") == 0  # cancel_on_kill off: the instances run on
    print(f"1000 waits: {status['triggerers']}")
