"""The rows of docs/timeouts-kills-retries.md that need a scheduler, a triggerer and real workers
(Airflow 3.3's multi-process cluster): the user marks a waiting task failed, the task process gets
SIGTERM, the triggerer restarts, a deferred task's execution_timeout, clears and several logical
dates of a mapped DAG. The emulator's runs are the proof."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from airflow_provider_pai.emulator.process import EmulatorProcess
from airflow_provider_pai.version_compat import AIRFLOW_V_3_3_PLUS
from tests.usage.conftest import DAGS, calls_of, dataworks_runs, usage_scenario

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="the multi-process cluster is Airflow 3.3")]
DATE, DATE2 = "2026-11-05T00:00:00Z", "2026-11-06T00:00:00Z"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from tests.reliability.airflow_cluster import AirflowCluster

    home = tmp_path_factory.mktemp("usage_cluster")
    if os.environ.get("USAGE_OUTPUT_DIR"):  # keep the components' output for debugging a failure
        home = Path(os.environ["USAGE_OUTPUT_DIR"]) / "cluster"
        home.mkdir(parents=True, exist_ok=True)
    with EmulatorProcess(usage_scenario(), data_dir=home / "emulator") as emu:
        af = AirflowCluster(home / "airflow")
        af.begin_migration()
        af.extra_env.update(emu.airflow_env())
        af.add_dag_file(DAGS / "usage_cluster.py")
        with af:
            for dag_id in ("usage_stop_blocking", "usage_stop_deferred", "usage_exec_timeout_deferred",
                           "usage_mapped_dates", "usage_triggerer_restart"):
                af.wait_for_dag(dag_id)
            yield af, emu


def _runs_of(emu, dag_id, run_id):
    """The DataWorks runs task "train" of one DAG run started (its run name holds the run id)."""
    key = re.sub(r"[^A-Za-z0-9_]+", "_", run_id).strip("_")
    return [r for r in dataworks_runs(emu, "train") if dag_id in r["name"] and key in r["name"]]


def _running_runs(emu, dag_id, run_id, count=1, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        runs = _runs_of(emu, dag_id, run_id)
        if len(runs) >= count:
            return runs
        assert time.monotonic() < deadline, f"no DataWorks run of {dag_id}"
        time.sleep(0.5)


def _task_pid(af, dag_id, run_id):
    ti = af.wait_for_task_state(dag_id, run_id, "train", ("running",))
    deadline = time.monotonic() + 30
    while not (pids := af.task_process_pids(ti["id"])) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(pids) == 1, "task process not found"
    return pids[0]


def _trigger_started(af, dag_id, run_id, timeout=120):
    """Wait until the triggerer runs the task's trigger: a trigger that never started gets no on_kill."""
    folder = af.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / "task_id=train"
    deadline = time.monotonic() + timeout
    while not any("starting" in log.read_text(errors="replace") for log in folder.glob("attempt=1.log.trigger.*.log")):
        assert time.monotonic() < deadline, f"the triggerer did not start the trigger of {dag_id} {run_id}"
        time.sleep(0.5)


def _mark_failed(af, dag_id, run_id):
    from tests.reliability.airflow_cluster import _q

    af.api("PATCH", f"/dags/{dag_id}/dagRuns/{_q(run_id)}/taskInstances/train", {"new_state": "failed"})


@pytest.mark.parametrize("mode", ["blocking", "deferred"])
def test_user_marks_the_waiting_task_failed_the_run_is_stopped(cluster, mode):
    af, emu = cluster
    dag_id = f"usage_stop_{mode}"
    run_id = af.trigger(dag_id, logical_date=DATE)
    _running_runs(emu, dag_id, run_id)
    if mode == "deferred":
        af.wait_for_task_state(dag_id, run_id, "train", ("deferred",))
        _trigger_started(af, dag_id, run_id)
        time.sleep(3)  # in its wait loop
    else:
        _task_pid(af, dag_id, run_id)
        time.sleep(3)  # in its wait loop
    _mark_failed(af, dag_id, run_id)
    deadline = time.monotonic() + 60
    while not all(r["stopped"] for r in _runs_of(emu, dag_id, run_id)):
        assert time.monotonic() < deadline, f"the run was not stopped: {_runs_of(emu, dag_id, run_id)}"
        time.sleep(0.5)
    assert af.wait_for_run(dag_id, run_id) == "failed"
    assert af.task_instance(dag_id, run_id, "train")["try_number"] == 1
    assert len(_runs_of(emu, dag_id, run_id)) == 1


def test_sigterm_of_the_task_process_with_a_retry_left_leaves_the_run_going(cluster):
    """Airflow 3.3's task runner answers SIGTERM by calling on_kill() only: the try goes on
    (docs/timeouts-kills-retries.md, "SIGTERM of the worker"). Proof that the signal landed: on_kill's
    own line in the try's log; then the same try reattaches to nothing new and sees the run end."""
    af, emu = cluster
    dag_id = "usage_stop_blocking"
    run_id = af.trigger(dag_id, logical_date=DATE2)
    before = calls_of(emu, "dataworks", "StopInstance")
    pid = _task_pid(af, dag_id, run_id)
    _running_runs(emu, dag_id, run_id)
    polls = calls_of(emu, "dataworks", "GetInstance")
    _wait_for(lambda: calls_of(emu, "dataworks", "GetInstance") > polls, 60, "a poll of the wait loop")
    os.kill(pid, signal.SIGTERM)
    log = _wait_for_log(af, dag_id, run_id, "Task killed without a user's action (worker shutdown?): "
                                            "the remote run goes on for the next try")
    assert Path(f"/proc/{pid}").exists(), "the try ended on SIGTERM: Airflow 3.3's runner only calls on_kill"
    emu.advance_clock(3700)
    assert af.wait_for_run(dag_id, run_id, timeout=240) == "success", log[-3000:]
    assert af.task_instance(dag_id, run_id, "train")["try_number"] == 1  # the same try went on
    assert calls_of(emu, "dataworks", "StopInstance") == before
    runs = _runs_of(emu, dag_id, run_id)
    assert len(runs) == 1 and not runs[0]["stopped"], runs


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.5)


def _wait_for_log(af, dag_id, run_id, text, attempt=1, timeout=60):
    """The try's log file once it holds ``text`` (the worker writes it as the task runs)."""
    path = af.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / "task_id=train" / f"attempt={attempt}.log"
    found = []
    _wait_for(lambda: path.exists() and text in (found.append(path.read_text(errors="replace")) or found[-1]),
              timeout, f"log line {text!r} in {path}")
    return found[-1]


def _mapped_xcom(af, dag_id, run_id, task_id, map_index):
    from tests.reliability.airflow_cluster import _q

    return af.api("GET", f"/dags/{dag_id}/dagRuns/{_q(run_id)}/taskInstances/{task_id}/xcomEntries/return_value"
                         f"?map_index={map_index}&deserialize=true")["value"]


def _restart_triggerer(af):
    proc = af._procs["triggerer"]
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=60)
    out = open(af.home / "triggerer.out", "ab")
    af._procs["triggerer"] = subprocess.Popen(
        [str(proc.args[0]), "triggerer"], env=af.env(), stdout=out, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )
    out.close()


def test_triggerer_restart_neither_stops_nor_restarts_the_run(cluster):
    af, emu = cluster
    dag_id = "usage_triggerer_restart"
    run_id = af.trigger(dag_id, logical_date=DATE2)
    af.wait_for_task_state(dag_id, run_id, "train", ("deferred",))
    _trigger_started(af, dag_id, run_id)  # the restart interrupts a running trigger
    before = calls_of(emu, "dataworks", "StopInstance")
    _restart_triggerer(af)
    time.sleep(10)
    emu.advance_clock(3700)
    assert af.wait_for_run(dag_id, run_id, timeout=240) == "success"
    assert calls_of(emu, "dataworks", "StopInstance") == before
    runs = _runs_of(emu, dag_id, run_id)
    assert len(runs) == 1 and not runs[0]["stopped"], runs


def test_deferred_execution_timeout_of_the_last_try_stops_the_run(cluster):
    af, emu = cluster
    dag_id = "usage_exec_timeout_deferred"
    run_id = af.trigger(dag_id, logical_date=DATE)
    assert af.wait_for_run(dag_id, run_id, timeout=180) == "failed"
    runs = _runs_of(emu, dag_id, run_id)
    assert len(runs) == 1 and runs[0]["stopped"], runs
    # Failed by the execution_timeout (the provider's end of the deferred wait), not by anything else.
    assert "execution_timeout" in af.task_log(dag_id, run_id, "train", 1)


def test_mapped_dag_on_two_logical_dates_then_a_clear_starts_nothing_new(cluster):
    af, emu = cluster
    dag_id = "usage_mapped_dates"
    before = calls_of(emu, "dataworks", "RunCycleDagNodes")
    run_ids = [af.trigger(dag_id, logical_date=d) for d in (DATE, DATE2)]
    assert [af.wait_for_run(dag_id, r, timeout=240) for r in run_ids] == ["success", "success"]
    assert calls_of(emu, "dataworks", "RunCycleDagNodes") == before + 4
    first = _mapped_xcom(af, dag_id, run_ids[0], "train", 0)
    tries = _mapped_tries(af, dag_id, run_ids[0])
    af.api("POST", f"/dags/{dag_id}/clearTaskInstances",
           {"dag_run_id": run_ids[0], "task_ids": [["train", 0]], "dry_run": False, "only_failed": False,
            "include_downstream": True})
    # The clear took: train[0] and its downstream wait[0] ran again (a new try each, reattaching).
    deadline = time.monotonic() + 240
    while True:
        again = _mapped_tries(af, dag_id, run_ids[0])
        if all(again[(t, 0)] == (tries[(t, 0)][0] + 1, "success") for t in ("train", "wait")):
            break
        assert time.monotonic() < deadline, f"the cleared tasks did not run again: {tries} -> {again}"
        time.sleep(1)
    assert af.wait_for_run(dag_id, run_ids[0], timeout=240) == "success"
    assert calls_of(emu, "dataworks", "RunCycleDagNodes") == before + 4
    assert _mapped_xcom(af, dag_id, run_ids[0], "train", 0) == first


def _mapped_tries(af, dag_id, run_id):
    """{(task_id, map_index): (try_number, state)} of the mapped task instances of one run."""
    from tests.reliability.airflow_cluster import _q

    out = {}
    for task_id in ("train", "wait"):
        answer = af.api("GET", f"/dags/{dag_id}/dagRuns/{_q(run_id)}/taskInstances/{task_id}/listMapped")
        for ti in answer["task_instances"]:
            out[(task_id, ti["map_index"])] = (ti["try_number"], ti["state"])
    return out
