"""The example DAG through `airflow dags test` while the cloud misbehaves: throttling, 5xx errors and
reset connections on every service, and the emulator restarted in the middle of the run.

Success means the run succeeds with default settings, there is exactly one DataWorks run and exactly
one new EAS version, and no secret reached the logs, XCom or rendered fields.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.reliability.conftest import (
    EXAMPLE_DAG,
    SECRETS,
    assert_no_secrets,
    calls_of,
    latest_version,
    reliability_scenario,
)

pytestmark = pytest.mark.slow

DAG_ID = "pai_train_deploy"
# Every call, the prediction gateway's included, may be throttled or reset. The 5xx errors go to the
# three cloud APIs only: a 500 from a deployed model is the model's own answer, so no client should
# retry it.
FAULTS = [
    # One of each for certain (rules are tried in order), so the run can never pass by luck alone...
    {"service": "dataworks", "action": "GetInstance", "kind": "error", "count": 1},
    {"service": "eas", "action": "DescribeService", "kind": "error", "count": 1},
    {"service": "oss", "action": "CopyObject", "kind": "error", "count": 1},
    {"service": "dataworks", "action": "RunCycleDagNodes", "kind": "throttle", "count": 1},
    {"service": "eas", "action": "UpdateService", "kind": "reset", "count": 1},
    # ...then the random weather. One attempt in four fails (1 - 0.8 * 0.97 * 0.95); a call fails for
    # good only after 8 failed attempts (0.26 ** 8 = 5e-5), so the run's ~40 calls fail by chance
    # about once in 500 runs (at 0.3/0.05/0.1 it was 0.4 ** 8 * 40: once in 40).
    {"service": "*", "action": "*", "kind": "throttle", "rate": 0.2},  # Throttling.User / OSS 503 / HTTP 429
    {"service": "*", "action": "*", "kind": "reset", "rate": 0.03},    # TCP RST, no answer
] + [
    {"service": service, "action": "*", "kind": "error", "rate": 0.05}  # HTTP 500 InternalError
    for service in ("dataworks", "eas", "oss")
]


def add_example_dag(airflow_env, emu) -> None:
    airflow_env.add_dag_file(EXAMPLE_DAG)


def assert_one_run_one_version(emu, version_before: int) -> None:
    state = emu.state()
    # calls() counts attempts, faulted ones included; what a bill shows is what took effect.
    assert len(state["dataworks"]["dags"]) == 1, state["dataworks"]["dags"]
    assert len(state["dataworks"]["instances"]) == 1
    service = state["eas"]["services"]["churn_model"]
    assert len(service["versions"]) == version_before + 1
    assert service["current"] == version_before + 1
    assert service["versions"][-1]["config"]["model_path"] == "oss://pai-demo/models/churn/20261102/"


def assert_nothing_leaked(airflow_env, output: str) -> None:
    # Each scan must have read something: an empty text passes any scan. The task logs are in the
    # `dags test` output (Airflow 3's `dags test` writes no task log files, so that scan may read nothing).
    assert "Started DataWorks run" in output, output[-3000:]
    assert_no_secrets("the `airflow dags test` output", output)
    assert_no_secrets("the task log files", airflow_env.task_log_text(DAG_ID))
    xcoms, rendered = airflow_env.all_xcom_values(DAG_ID), airflow_env.rendered_fields(DAG_ID)
    assert xcoms and rendered, (xcoms, rendered)
    assert_no_secrets("XCom", xcoms)
    assert_no_secrets("rendered template fields", rendered)


def test_example_dag_rides_out_throttling_errors_and_resets(airflow_env, pai_emulator):
    add_example_dag(airflow_env, pai_emulator)
    version_before = latest_version(pai_emulator)
    for rule in FAULTS:
        pai_emulator.fault(**rule)

    result = airflow_env.dags_test(DAG_ID, env=pai_emulator.airflow_env(), logical_date="2026-11-02")
    out = result.stdout + result.stderr

    states = airflow_env.task_states(DAG_ID)
    assert airflow_env.run_state(DAG_ID) == "success", (states, out[-6000:])
    assert states["rollback"] == "skipped"
    injected = {}
    for rule in pai_emulator.faults():
        injected[rule["kind"]] = injected.get(rule["kind"], 0) + rule["injected"]
    assert injected["throttle"] > 0 and injected["error"] > 0, injected  # the faults really happened
    assert_one_run_one_version(pai_emulator, version_before)
    assert_nothing_leaked(airflow_env, out)


@pytest.fixture
def pai_emulator_scenario() -> dict:
    # Long enough waits to restart the emulator inside them (a real training run takes far longer).
    scenario = reliability_scenario()
    scenario["dataworks"]["projects"][0]["nodes"][0]["run_seconds"] = 20
    scenario["eas"]["services"][0]["start_seconds"] = 15
    return scenario


def _when(condition, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the DAG run never got there")
        time.sleep(0.2)


def test_emulator_restarts_while_training_and_deploy_wait(airflow_env, pai_emulator):
    add_example_dag(airflow_env, pai_emulator)
    version_before = latest_version(pai_emulator)
    results = {}
    runner = threading.Thread(target=lambda: results.update(run=airflow_env.dags_test(
        DAG_ID, env=pai_emulator.airflow_env(), logical_date="2026-11-02")))
    runner.start()
    try:
        # The counts live in memory and restart from zero with the emulator; the state persists.
        _when(lambda: calls_of(pai_emulator, "dataworks", "GetInstance") > 0 or not runner.is_alive())
        assert runner.is_alive(), "the run ended before training was under way"
        pai_emulator.restart()
        restarts = 1
        _when(lambda: calls_of(pai_emulator, "eas", "UpdateService") > 0 or not runner.is_alive())
        if runner.is_alive():
            pai_emulator.restart()
            restarts += 1
    finally:
        runner.join(timeout=600)
    out = results["run"].stdout + results["run"].stderr

    assert restarts == 2, "the deploy wait ended before the second restart"
    assert airflow_env.run_state(DAG_ID) == "success", (airflow_env.task_states(DAG_ID), out[-6000:])
    assert_one_run_one_version(pai_emulator, version_before)
    assert_nothing_leaked(airflow_env, out)
    for secret in SECRETS:
        assert secret not in (pai_emulator.data_dir / "emulator.log").read_text()
