"""TriggerDesignerNodeOperator / WaitForInstanceSensor / DataWorksInstanceTrigger through `airflow dags test`,
with the real DataWorks SDK against the emulator."""

from __future__ import annotations

import copy
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


def _scenario(**node_overrides) -> dict:
    scenario = copy.deepcopy(load_scenario(DEMO_SCENARIO))
    node = scenario["dataworks"]["projects"][0]["nodes"][0]  # 700001 train_churn_model
    node.update(node_overrides)
    return scenario


@pytest.fixture
def dw(airflow_env, pai_emulator, tmp_path):
    airflow_env.add_dag_file(DAG_FILE)
    env = {**pai_emulator.airflow_env(), "DW_CRASH_MARKER": str(tmp_path / "crashed")}
    return airflow_env, pai_emulator, env


def _remote_lines(output: str, text: str) -> int:
    """How often one remote log line was written into the Airflow log."""
    pattern = re.compile(r"\[dataworks\] \S+ \S+ INFO " + re.escape(text) + r"(\s|$)")
    return sum(1 for line in output.splitlines() if pattern.search(line))


def _output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def test_trigger_then_poke_sensor_success_streams_each_line_once(dw):
    airflow_env, emu, env = dw
    result = airflow_env.dags_test("dataworks_trigger_then_wait", env=env, logical_date="2026-11-05")
    out = _output(result)
    assert airflow_env.task_states("dataworks_trigger_then_wait") == {"train": "success", "wait": "success"}, out[-5000:]

    started = airflow_env.xcom("dataworks_trigger_then_wait", "train")
    assert set(started) == {"project_id", "project_env", "node_id", "dag_id", "instance_id", "bizdate"}
    assert (started["project_id"], started["node_id"], started["bizdate"]) == (10001, 700001, "2026-11-05")
    summary = airflow_env.xcom("dataworks_trigger_then_wait", "wait")
    assert summary["instance_id"] == started["instance_id"]
    assert (summary["status"], summary["node_name"], summary["skipped"]) == ("SUCCESS", "train_churn_model", False)
    assert summary["duration_seconds"] == 5.0
    for text in DEMO_LOG:
        assert _remote_lines(out, text) == 1, text
    assert "https://workbench2-cn-shanghai.data.aliyun.com/" in out
    calls = emu.calls()["dataworks"]
    assert calls["RunCycleDagNodes"] == 1
    print("DataWorks calls, trigger + poke sensor, demo node:", calls)


@pytest.mark.parametrize(
    "pai_emulator_scenario", [_scenario(outcome="FAILURE", log=FAIL_LOG)], ids=["failing-node"]
)
def test_failed_instance_fails_the_sensor_with_the_log_tail(dw):
    airflow_env, emu, env = dw
    out = _output(airflow_env.dags_test("dataworks_trigger_then_wait", env=env, logical_date="2026-11-05"))
    assert airflow_env.task_states("dataworks_trigger_then_wait") == {"train": "success", "wait": "failed"}
    error_at = out.index("ended FAILURE")
    excerpt = out[error_at : error_at + 3000]
    assert "Last lines of its log:" in excerpt
    assert "worker exited with code 137" in excerpt and "java.lang.OutOfMemoryError" in excerpt
    assert "defaultProjectId=10001" in excerpt  # the Operation Center link


def test_not_a_designer_node_is_refused_before_any_run(dw):
    airflow_env, emu, env = dw
    out = _output(airflow_env.dags_test(
        "dataworks_trigger_then_wait", env=env, logical_date="2026-11-05", conf={"node_id": 700003}
    ))
    assert airflow_env.task_states("dataworks_trigger_then_wait")["train"] == "failed"
    assert "is not a PAI Designer node" in out and "check_node_type=False" in out
    assert "RunCycleDagNodes" not in emu.calls()["dataworks"]


def test_deferrable_sensor_streams_each_line_once(dw):
    airflow_env, emu, env = dw
    out = _output(airflow_env.dags_test("dataworks_sensor_deferrable", env=env, logical_date="2026-11-05"))
    assert airflow_env.task_states("dataworks_sensor_deferrable") == {"train": "success", "wait": "success"}, out[-5000:]
    assert "[DAG TEST] running trigger in line" in out  # it really deferred
    assert airflow_env.xcom("dataworks_sensor_deferrable", "wait")["status"] == "SUCCESS"
    for text in DEMO_LOG:
        assert _remote_lines(out, text) == 1, text


def test_deferrable_operator_waits_and_returns_ids(dw):
    airflow_env, emu, env = dw
    out = _output(airflow_env.dags_test("dataworks_operator_deferrable", env=env, logical_date="2026-11-05"))
    assert airflow_env.task_states("dataworks_operator_deferrable") == {"train": "success"}, out[-5000:]
    assert "[DAG TEST] running trigger in line" in out
    result = airflow_env.xcom("dataworks_operator_deferrable", "train")
    assert result["node_id"] == 700001 and result["instance_id"]
    for text in DEMO_LOG:
        assert _remote_lines(out, text) == 1, text
    assert "SUCCESS in 5.0 s" in out


@pytest.mark.parametrize("crash_after", ["submit", "record"])
def test_retry_after_worker_death_reattaches_to_the_same_run(dw, crash_after):
    airflow_env, emu, env = dw
    env["DW_CRASH_AFTER"] = crash_after
    out = _output(airflow_env.dags_test("dataworks_wait_in_worker", env=env, logical_date="2026-11-05"))
    assert f"simulated worker death after {crash_after}" in out  # try 1 really died
    assert airflow_env.task_states("dataworks_wait_in_worker") == {"train": "success"}, out[-5000:]
    assert "Reattaching to the DataWorks run" in out
    assert emu.calls()["dataworks"]["RunCycleDagNodes"] == 1  # one billable run


@pytest.mark.parametrize("pai_emulator_scenario", [_scenario(run_seconds=600)], ids=["long-run"])
def test_killing_the_waiting_task_stops_the_instance(dw, tmp_path):
    airflow_env, emu, env = dw
    log_path = tmp_path / "dags_test.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [AIRFLOW_BIN, "dags", "test", "dataworks_wait_no_retry", "2026-11-05"],
            env=airflow_env.env(env), stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 300
        while emu.calls()["dataworks"].get("GetInstance", 0) < 1:  # waiting on the instance now
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()[-5000:]
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)  # the task runner's SIGTERM handler calls on_kill()
        deadline = time.monotonic() + 120
        while "StopInstance" not in emu.calls()["dataworks"] and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert emu.calls()["dataworks"].get("StopInstance") == 1, log_path.read_text()[-5000:]
    assert emu.calls()["dataworks"]["RunCycleDagNodes"] == 1
    (inst,) = [i for i in emu.state()["dataworks"]["instances"].values() if i["node_id"] == 700001]
    assert inst["runs"][-1]["stopped_ms"] is not None
