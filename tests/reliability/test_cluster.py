"""The example DAG on a real multi-process Airflow (scheduler, triggerer, API server, DAG processor,
LocalExecutor), checked only through the REST API v2; task processes SIGKILLed mid-wait; and a
scan of everything Airflow stored for the AccessKey secret and the STS token."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from airflow_provider_pai.emulator.process import EmulatorProcess
from airflow_provider_pai.version_compat import AIRFLOW_V_3_3_PLUS
from tests.reliability.airflow_cluster import AirflowCluster
from tests.reliability.conftest import (
    DAGS,
    EXAMPLE_DAG,
    SECRETS,
    assert_no_secrets,
    calls_of,
    latest_version,
    reliability_scenario,
    take_premigrated_cluster,
)
from tests.scenarios import churn_pmml

# The components (api-server, dag-processor), REST API v2 and task_state_store are Airflow 3.3's.
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="the multi-process cluster is Airflow 3.3")]

DAG_ID = "pai_train_deploy"
GOOD_DATE, BROKEN_DATE = "2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z"
BROKEN_CONF = {"node_id": 700002, "output_prefix": "oss://pai-demo/designer/churn_broken/"}
# Tasks with console links, per DAG; a skipped task never ran, so it has nothing to link to.
LINKED_TASKS = {"train", "wait_for_training", "deploy", "rollback"}


def cluster_scenario() -> dict:
    scenario = reliability_scenario()
    project = scenario["dataworks"]["projects"][0]
    # Waits as long as a short real one, not 2-5 s: a trigger that fires within seconds of the
    # deferral hits an Airflow 3.3 scheduler race (apache/airflow#72716: the stale "success" of the
    # deferring attempt fails the resumed one). See docs/reliability.md.
    for node in project["nodes"]:
        node["run_seconds"] = 12
    scenario["eas"]["services"][0]["start_seconds"] = 12
    project["nodes"].append({
        "node_id": 700009, "node_name": "train_churn_model_slow", "program_type": "PAI_STUDIO",
        "run_seconds": 3600, "outcome": "SUCCESS", "log": ["training for an hour"],
    })
    scenario["oss"]["objects"].append(
        {"uri": "oss://pai-demo/models/churn/v2/model.pmml", "content": churn_pmml("v2")}
    )
    initial = "oss://pai-demo/models/churn/initial/"
    scenario["eas"]["services"] += [
        {"name": "churn_slow", "model_path": initial, "processor": "pmml", "start_seconds": 3600},
        {"name": "churn_fail", "model_path": initial, "processor": "pmml", "start_seconds": 12},
    ]
    return scenario


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow_cluster")
    with EmulatorProcess(cluster_scenario(), data_dir=home / "emulator") as emu:
        af = take_premigrated_cluster() or AirflowCluster(home / "airflow")
        af.extra_env.update(
            emu.airflow_env(), AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE="True",
            # A worker killed whole stops heartbeating: notice it in seconds, not the default 5 minutes.
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT="30",
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="3",
        )
        # The example DAG as it is, but run only when triggered (no scheduled run on unpause).
        source = EXAMPLE_DAG.read_text()
        assert 'schedule="@daily"' in source
        (af.dags_folder / EXAMPLE_DAG.name).write_text(source.replace('schedule="@daily"', "schedule=None"))
        af.add_dag_file(DAGS / "reliability_kill_dags.py")
        with af:
            for dag_id in (DAG_ID, "reliability_kill_train", "reliability_kill_deploy", "reliability_deploy_fails"):
                af.wait_for_dag(dag_id)
            yield af, emu


@pytest.fixture(scope="module")
def e2e_runs(cluster):
    """A good run and a broken-model run of the example DAG (queued behind it: max_active_runs=1),
    and a deploy that fails, all triggered through the REST API and awaited."""
    af, emu = cluster
    version_before = latest_version(emu)
    runs = {
        "good": (DAG_ID, af.trigger(DAG_ID, logical_date=GOOD_DATE)),
        "broken": (DAG_ID, af.trigger(DAG_ID, logical_date=BROKEN_DATE, conf=BROKEN_CONF)),
        "deploy_fails": ("reliability_deploy_fails",
                         af.trigger("reliability_deploy_fails", logical_date=GOOD_DATE)),
    }
    states = {name: af.wait_for_run(dag_id, run_id, timeout=420) for name, (dag_id, run_id) in runs.items()}
    return runs, states, version_before


def test_good_run_succeeds_in_deferrable_mode(cluster, e2e_runs):
    af, emu = cluster
    runs, states, _ = e2e_runs
    dag_id, run_id = runs["good"]
    tis = af.task_instances(dag_id, run_id)
    assert states["good"] == "success", {t: ti["state"] for t, ti in tis.items()}
    assert {t: ti["state"] for t, ti in tis.items()} == {
        "train": "success", "wait_for_training": "success", "export_model": "success", "deploy": "success",
        "test_service": "success", "rollback": "skipped", "report": "success",
    }
    # The deploy's wait went to the triggerer and came back.
    assert "Pausing task as DEFERRED" in af.task_log(dag_id, run_id, "deploy")


def test_streamed_dataworks_log_lines_are_in_the_task_log(cluster, e2e_runs):
    af, _ = cluster
    runs, _, _ = e2e_runs
    log = af.task_log(*runs["good"], "wait_for_training")
    for line in ("reading table churn_train", "training logistic regression", "AUC 0.91"):
        assert line in log, log[-3000:]


@pytest.mark.parametrize("run", ["good", "broken", "deploy_fails"])
def test_every_alibaba_task_that_ran_has_its_links(cluster, e2e_runs, run):
    af, _ = cluster
    runs, states, _ = e2e_runs
    dag_id, run_id = runs[run]
    tis = af.task_instances(dag_id, run_id)
    checked = {}
    for task_id, ti in tis.items():
        if task_id not in LINKED_TASKS or ti["state"] == "skipped":
            continue
        links = af.links(dag_id, run_id, task_id)
        assert links and all(url and url.startswith("https://") for url in links.values()), (task_id, ti["state"], links)
        checked[task_id] = ti["state"]
    expected = {
        "good": {"train": "success", "wait_for_training": "success", "deploy": "success"},
        "broken": {"train": "success", "wait_for_training": "success", "deploy": "success", "rollback": "success"},
        "deploy_fails": {"deploy": "failed"},
    }[run]
    assert checked == expected


def test_broken_model_is_rolled_back_and_each_run_added_one_version(cluster, e2e_runs):
    af, emu = cluster
    runs, states, version_before = e2e_runs
    tis = af.task_instances(*runs["broken"])
    assert states["broken"] == "failed"  # the report task fails the run when the model was rejected
    assert tis["test_service"]["state"] == "failed" and tis["rollback"]["state"] == "success"
    service = emu.state()["eas"]["services"]["churn_model"]
    assert latest_version(emu) == version_before + 2  # one per deploy, none for the rollback
    assert service["current"] == version_before + 1   # back on what the good run deployed
    assert calls_of(emu, "dataworks", "RunCycleDagNodes") >= 2
    failed_deploy = emu.state()["eas"]["services"]["churn_fail"]
    assert states["deploy_fails"] == "failed" and failed_deploy["current"] == 1  # its own rollback held


def _kill_task_process(af: AirflowCluster, dag_id: str, run_id: str, task_id: str, *, whole_worker=False) -> None:
    """SIGKILL the process running the operator; ``whole_worker``: its supervisor first, as an OOM kill would."""
    ti = af.wait_for_task_state(dag_id, run_id, task_id, ("running",))
    assert ti["try_number"] == 1
    deadline = time.monotonic() + 30
    while not (pids := af.task_process_pids(ti["id"])) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(pids) == 1, f"task process of {task_id} not found"
    if whole_worker:
        supervisor = int(Path(f"/proc/{pids[0]}/stat").read_text().rsplit(")", 1)[1].split()[1])
        assert "airflow worker" in Path(f"/proc/{supervisor}/cmdline").read_text()
        os.kill(supervisor, signal.SIGKILL)
    os.kill(pids[0], signal.SIGKILL)


def _wait_for_count(emu, service: str, action: str, more_than: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while calls_of(emu, service, action) <= more_than:
        assert time.monotonic() < deadline, f"no {service}.{action} call after {timeout}s"
        time.sleep(0.3)


@pytest.mark.parametrize("whole_worker", [False, True], ids=["task-process", "whole-worker"])
def test_worker_killed_while_training_waits_reattaches(cluster, whole_worker):
    af, emu = cluster
    runs_before = calls_of(emu, "dataworks", "RunCycleDagNodes")
    run_id = af.trigger("reliability_kill_train", logical_date=BROKEN_DATE if whole_worker else GOOD_DATE)
    _wait_for_count(emu, "dataworks", "RunCycleDagNodes", runs_before)
    polls = calls_of(emu, "dataworks", "GetInstance")
    _wait_for_count(emu, "dataworks", "GetInstance", polls)  # it is in its wait loop now
    _kill_task_process(af, "reliability_kill_train", run_id, "train", whole_worker=whole_worker)

    # A dead supervisor reports nothing: the scheduler finds the missing heartbeats and retries.
    af.wait_for_task_state("reliability_kill_train", run_id, "train", ("running",), try_number=2, timeout=180)
    emu.advance_clock(3700)  # the hour-long training ends now
    assert af.wait_for_run("reliability_kill_train", run_id) == "success"
    ti = af.task_instance("reliability_kill_train", run_id, "train")
    assert ti["try_number"] == 2
    assert calls_of(emu, "dataworks", "RunCycleDagNodes") == runs_before + 1
    assert "Reattaching" in af.task_log("reliability_kill_train", run_id, "train", 2)


def test_worker_killed_while_deploy_waits_reattaches(cluster):
    af, emu = cluster
    versions_before = latest_version(emu, "churn_slow")
    updates_before = calls_of(emu, "eas", "UpdateService")
    run_id = af.trigger("reliability_kill_deploy", logical_date=GOOD_DATE)
    _wait_for_count(emu, "eas", "UpdateService", updates_before)
    polls = calls_of(emu, "eas", "DescribeService")
    _wait_for_count(emu, "eas", "DescribeService", polls + 1)  # past the read-back: in its wait loop
    _kill_task_process(af, "reliability_kill_deploy", run_id, "deploy")

    af.wait_for_task_state("reliability_kill_deploy", run_id, "deploy", ("running",), try_number=2)
    emu.advance_clock(3700)  # the rollout finishes now
    assert af.wait_for_run("reliability_kill_deploy", run_id) == "success"
    assert af.task_instance("reliability_kill_deploy", run_id, "deploy")["try_number"] == 2
    assert calls_of(emu, "eas", "UpdateService") == updates_before + 1
    service = emu.state()["eas"]["services"]["churn_slow"]
    assert len(service["versions"]) == versions_before + 1 and service["current"] == versions_before + 1


def test_no_secret_anywhere_airflow_keeps_things(cluster, e2e_runs):
    """Last in the module: it reads what every run above left behind (failures and killed tries included)."""
    af, _ = cluster
    runs = af.api("GET", "/dags/~/dagRuns?limit=100")["dag_runs"]
    assert len(runs) >= 5
    for run in runs:
        dag_id, run_id = run["dag_id"], run["dag_run_id"]
        assert_no_secrets(f"run conf of {run_id}", run["conf"])
        for task_id, ti in af.task_instances(dag_id, run_id).items():
            assert_no_secrets(f"rendered fields of {task_id}", ti.get("rendered_fields"))
            for try_number in range(1, (ti["try_number"] or 0) + 1):
                assert_no_secrets(f"log of {task_id} try {try_number}", af.task_log(dag_id, run_id, task_id, try_number))
            for key, value in af.xcoms(dag_id, run_id, task_id).items():
                assert_no_secrets(f"XCom {task_id}.{key}", value)
    # Everything else on disk: the metadata DB (trigger kwargs, events, ...), log files, component output.
    for path in af.home.rglob("*"):
        if path.is_file() and path.name != "passwords.json":
            data = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in data, f"a secret leaked into {path}"
