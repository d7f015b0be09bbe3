"""TriggerDesignerNodeOperator / WaitForInstanceSensor / DataWorksInstanceTrigger through `airflow dags test`,
with the real DataWorks SDKs against the emulator, on a legacy workspace (OpenAPI 2020-05-18) and on one
on the new Data Studio (OpenAPI 2024-05-18), the connection left at dataworks_api_version=auto."""

from __future__ import annotations

import copy
import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from airflow_provider_pai.emulator.state import DEMO_SCENARIO, load_scenario
from tests.airflow_harness import AIRFLOW_BIN

pytestmark = pytest.mark.slow

DAG_FILE = Path(__file__).parent / "dags" / "dataworks_dags.py"
DEMO_LOG = ["reading table churn_train", "training logistic regression", "AUC 0.91"]
FAIL_LOG = ["reading table churn_train", "java.lang.OutOfMemoryError: Java heap space", "worker exited with code 137"]


class Workspace:
    """One kind of workspace of the demo scenario and what the provider calls there."""

    def __init__(self, kind, project_id, index, node_id, sql_node_id, node_name, api, start, poll, stop, link):
        self.kind, self.project_id, self.index, self.node_id = kind, project_id, index, node_id
        self.sql_node_id, self.node_name, self.api = sql_node_id, node_name, api
        self.start, self.poll, self.stop, self.link = start, poll, stop, link

    def conf(self, **extra) -> dict:
        return {"project_id": self.project_id, "node_id": self.node_id, **extra}


LEGACY = Workspace("legacy", 10001, 0, 700001, 700003, "train_churn_model", "2020-05-18",
                   "RunCycleDagNodes", "GetInstance", "StopInstance", "https://workbench2-cn-shanghai.data.aliyun.com/")
NEW = Workspace("new", 20001, 1, 900001, 900003, "train_churn_model_studio", "2024-05-18",
                "CreateWorkflowInstances", "GetTaskInstance", "StopTaskInstances",
                "https://dataworks.data.aliyun.com/cn-shanghai/ops?defaultProjectId=20001")
WORKSPACES = [pytest.param(LEGACY, id="legacy-2020"), pytest.param(NEW, id="new-data-studio-2024")]


def _scenario(ws: Workspace, **node_overrides) -> dict:
    scenario = copy.deepcopy(load_scenario(DEMO_SCENARIO))
    node = scenario["dataworks"]["projects"][ws.index]["nodes"][0]  # the workspace's Designer node
    node.update(node_overrides)
    return scenario


@pytest.fixture(params=WORKSPACES)
def ws(request) -> Workspace:
    return request.param


@pytest.fixture
def dw(airflow_env, pai_emulator, tmp_path):
    airflow_env.add_dag_file(DAG_FILE)
    env = {**pai_emulator.airflow_env(), "DW_CRASH_MARKER": str(tmp_path / "crashed")}
    return airflow_env, pai_emulator, env


def _chose(out: str, ws: Workspace) -> bool:
    """auto logged the API it picked for the workspace."""
    return f"DataWorks OpenAPI {ws.api} for workspace {ws.project_id}" in out


def _remote_lines(output: str, text: str) -> int:
    """How often one remote log line was written into the Airflow log."""
    pattern = re.compile(r"\[dataworks\] \S+ \S+ INFO " + re.escape(text) + r"(\s|$)")
    return sum(1 for line in output.splitlines() if pattern.search(line))


def _output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def test_trigger_then_poke_sensor_success_streams_each_line_once(dw, ws):
    airflow_env, emu, env = dw
    result = airflow_env.dags_test("dataworks_trigger_then_wait", env=env, logical_date="2026-11-05", conf=ws.conf())
    out = _output(result)
    assert airflow_env.task_states("dataworks_trigger_then_wait") == {"train": "success", "wait": "success"}, out[-5000:]
    assert _chose(out, ws)

    started = airflow_env.xcom("dataworks_trigger_then_wait", "train")
    keys = {"project_id", "project_env", "node_id", "dag_id", "instance_id", "bizdate", "api_version"}
    assert set(started) == keys | ({"task_id", "workflow_instance_id"} if ws is NEW else set())
    assert (started["project_id"], started["node_id"], started["bizdate"]) == (ws.project_id, ws.node_id, "2026-11-05")
    assert started["api_version"] == ws.api
    summary = airflow_env.xcom("dataworks_trigger_then_wait", "wait")
    assert summary["instance_id"] == started["instance_id"]
    # the same node_id in both XComs; on 2024-05-18 the scheduled task id under its own key, in both
    assert summary["node_id"] == started["node_id"] == ws.node_id
    if ws is NEW:
        assert summary["task_id"] == started["task_id"] == 910001
    else:
        assert "task_id" not in summary
    assert (summary["status"], summary["node_name"], summary["skipped"]) == ("SUCCESS", ws.node_name, False)
    assert summary["duration_seconds"] == 5.0
    log = DEMO_LOG if ws is LEGACY else [*DEMO_LOG[:2], "AUC 0.92"]
    for text in log:
        assert _remote_lines(out, text) == 1, text
    assert ws.link in out
    calls = emu.calls()["dataworks"]
    assert calls[ws.start] == 1 and calls[ws.poll] >= 1
    if ws is NEW:  # nothing was asked of the legacy API about this workspace
        assert not {"RunCycleDagNodes", "GetInstance", "ListInstances"} & set(calls)
    print(f"DataWorks calls, trigger + poke sensor, demo node, {ws.kind}:", calls)


@pytest.mark.parametrize(
    "ws, pai_emulator_scenario",
    [pytest.param(w, _scenario(w, outcome="FAILURE", log=FAIL_LOG), id=f"failing-node-{w.kind}") for w in (LEGACY, NEW)],
)
def test_failed_instance_fails_the_sensor_with_the_log_tail(dw, ws):
    airflow_env, emu, env = dw
    out = _output(airflow_env.dags_test("dataworks_trigger_then_wait", env=env, logical_date="2026-11-05",
                                        conf=ws.conf()))
    assert airflow_env.task_states("dataworks_trigger_then_wait") == {"train": "success", "wait": "failed"}
    error_at = out.index("ended FAILURE")
    excerpt = out[error_at : error_at + 3000]
    assert "Last lines of its log:" in excerpt
    assert "worker exited with code 137" in excerpt and "java.lang.OutOfMemoryError" in excerpt
    assert f"defaultProjectId={ws.project_id}" in excerpt  # the Operation Center link


def test_not_a_designer_node_is_refused_before_any_run(dw, ws):
    airflow_env, emu, env = dw
    out = _output(airflow_env.dags_test(
        "dataworks_trigger_then_wait", env=env, logical_date="2026-11-05", conf=ws.conf(node_id=ws.sql_node_id)
    ))
    assert airflow_env.task_states("dataworks_trigger_then_wait")["train"] == "failed"
    assert "is not a PAI Designer node" in out and "check_node_type=False" in out
    assert not {"RunCycleDagNodes", "CreateWorkflowInstances"} & set(emu.calls()["dataworks"])


def test_deferrable_sensor_streams_each_line_once(dw, ws):
    airflow_env, emu, env = dw
    out = _output(airflow_env.dags_test("dataworks_sensor_deferrable", env=env, logical_date="2026-11-05",
                                        conf=ws.conf()))
    assert airflow_env.task_states("dataworks_sensor_deferrable") == {"train": "success", "wait": "success"}, out[-5000:]
    assert "[DAG TEST] running trigger in line" in out  # it really deferred
    assert airflow_env.xcom("dataworks_sensor_deferrable", "wait")["status"] == "SUCCESS"
    for text in DEMO_LOG[:2]:
        assert _remote_lines(out, text) == 1, text
    assert emu.calls()["dataworks"][ws.poll] >= 1


@pytest.mark.parametrize("ws, pai_emulator_scenario", [
    pytest.param(LEGACY, _scenario(LEGACY, run_seconds=65), id="legacy-2020-65s-run"),
])
def test_deferrable_sensor_without_streaming_fetches_the_log_once_at_the_end(dw, ws):
    """stream_log=False reaches the trigger: a run past the 60 s streaming mark still gets one log call."""
    airflow_env, emu, env = dw
    out = _output(airflow_env.dags_test("dataworks_sensor_deferrable", env={**env, "DW_STREAM_LOG": "0"},
                                        logical_date="2026-11-05", conf=ws.conf()))
    assert airflow_env.task_states("dataworks_sensor_deferrable") == {"train": "success", "wait": "success"}, out[-5000:]
    assert "[DAG TEST] running trigger in line" in out
    calls = emu.calls()["dataworks"]
    assert calls["GetInstanceLog"] == 1 and calls["GetInstance"] >= 10, calls
    for text in DEMO_LOG:
        assert _remote_lines(out, text) == 1, text


def test_deferrable_operator_waits_and_returns_ids(dw, ws):
    airflow_env, emu, env = dw
    out = _output(airflow_env.dags_test("dataworks_operator_deferrable", env=env, logical_date="2026-11-05",
                                        conf=ws.conf()))
    assert airflow_env.task_states("dataworks_operator_deferrable") == {"train": "success"}, out[-5000:]
    assert "[DAG TEST] running trigger in line" in out
    result = airflow_env.xcom("dataworks_operator_deferrable", "train")
    # The ids, as without deferring (`airflow dags test` drops the deferral's kwargs: rebuilt on resume).
    assert (result["project_id"], result["node_id"], result["api_version"]) == (ws.project_id, ws.node_id, ws.api)
    assert result["instance_id"] and result["dag_id"] and result["bizdate"] == "2026-11-05", result
    if ws is NEW:  # the scheduled task the node is deployed as, and the workflow instance
        assert (result["task_id"], result["workflow_instance_id"]) == (910001, result["dag_id"]), result
    assert _chose(out, ws)
    for text in DEMO_LOG[:2]:
        assert _remote_lines(out, text) == 1, text
    assert "SUCCESS in 5.0 s" in out


@pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferred"])
@pytest.mark.parametrize("ws, pai_emulator_scenario", [
    pytest.param(w, _scenario(w, run_seconds=20, log=[f"step {i}" for i in range(8)]), id=f"20s-run-{w.kind}")
    for w in (LEGACY, NEW)
])
def test_log_interval_streams_a_short_run_while_it_runs(dw, ws, deferrable):
    """log_interval=5 with poll_interval=30: without it, a 20 s run shows its log only at the end (one
    log call); with it, lines reach the task log before the run ends, each once, and the wait says
    "no log yet" while nothing has come."""
    airflow_env, emu, env = dw
    env = {**env, "DW_DEFERRABLE": "1" if deferrable else "0"}
    out = _output(airflow_env.dags_test("dataworks_log_cadence", env=env, logical_date="2026-11-05", conf=ws.conf()))
    assert airflow_env.task_states("dataworks_log_cadence") == {"train": "success"}, out[-5000:]
    assert ("[DAG TEST] running trigger in line" in out) == deferrable
    assert "no log yet" in out
    for i in range(8):
        assert _remote_lines(out, f"step {i}") == 1, i
    first_line, end = out.index("INFO step 0"), out.index("-> SUCCESS")
    assert first_line < end  # streamed while running, not only at the end
    calls = emu.calls()["dataworks"]
    log_call = "GetInstanceLog" if ws is LEGACY else "GetTaskInstanceLog"
    assert calls[log_call] >= 2 and calls[ws.poll] >= 4, calls


@pytest.mark.parametrize("crash_after", ["submit", "record"])
def test_retry_after_worker_death_reattaches_to_the_same_run(dw, ws, crash_after):
    airflow_env, emu, env = dw
    env["DW_CRASH_AFTER"] = crash_after
    out = _output(airflow_env.dags_test("dataworks_wait_in_worker", env=env, logical_date="2026-11-05",
                                        conf=ws.conf()))
    assert f"simulated worker death after {crash_after}" in out  # try 1 really died
    assert airflow_env.task_states("dataworks_wait_in_worker") == {"train": "success"}, out[-5000:]
    assert "Reattaching to the DataWorks run" in out
    assert emu.calls()["dataworks"][ws.start] == 1  # one billable run


@pytest.mark.parametrize(
    "ws, pai_emulator_scenario",
    [pytest.param(w, _scenario(w, run_seconds=600), id=f"long-run-{w.kind}") for w in (LEGACY, NEW)],
)
def test_killing_the_waiting_task_stops_the_instance(dw, ws, tmp_path):
    airflow_env, emu, env = dw
    log_path = tmp_path / "dags_test.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [AIRFLOW_BIN, "dags", "test", "dataworks_wait_no_retry", "2026-11-05", "-c", json.dumps(ws.conf())],
            env=airflow_env.env(env), stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 300
        while emu.calls()["dataworks"].get(ws.poll, 0) < 1:  # waiting on the instance now
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()[-5000:]
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)  # the task runner's SIGTERM handler calls on_kill()
        deadline = time.monotonic() + 120
        while ws.stop not in emu.calls()["dataworks"] and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert emu.calls()["dataworks"].get(ws.stop) == 1, log_path.read_text()[-5000:]
    assert emu.calls()["dataworks"][ws.start] == 1
    (inst,) = [i for i in emu.state()["dataworks"]["instances"].values() if i["node_id"] == ws.node_id]
    assert inst["runs"][-1]["stopped_ms"] is not None
