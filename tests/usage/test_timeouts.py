"""docs/timeouts-kills-retries.md, the rows `airflow dags test` can show on both Airflow versions:
execution_timeout, the wait timeout and the sensor timeout, with and without retries left, blocking
and deferred. Proof is the emulator's record: one DataWorks run per task instance, stopped only when
no try follows; one EAS version per deploy."""

from __future__ import annotations

import re

import pytest

from tests.usage.conftest import (
    calls_of,
    dataworks_runs,
    fresh_dags,
    run_dag,
    service_state,
    states,
    ti_rows,
)

pytestmark = pytest.mark.slow
AF2_ABORTS = "Airflow 2.11's `airflow dags test` aborts when a task in the worker hits execution_timeout " \
    "(AirflowTaskTimeout is a BaseException there); the deferred variant and tests/unit/utils/test_ends.py cover it"


def EXEC_IN_DAG(mode):  # noqa: N802 - mirrors EXEC_TIMEOUTS of the DAG file
    from airflow_provider_pai.version_compat import AIRFLOW_V_3_0_PLUS

    return AIRFLOW_V_3_0_PLUS or mode == "deferred"


def _skip_af2_blocking(mode):
    from airflow_provider_pai.version_compat import AIRFLOW_V_3_0_PLUS

    if mode == "blocking" and not AIRFLOW_V_3_0_PLUS:
        pytest.skip(AF2_ABORTS)


@pytest.fixture(scope="module", params=["blocking", "deferred"])
def timeouts_dw(request, _airflow_home, usage_emulator):
    emu = usage_emulator
    env = fresh_dags(_airflow_home, "usage_timeouts.py")
    out = run_dag(env, emu, "usage_timeouts_dw", logical_date="2026-11-03" if request.param == "blocking" else "2026-11-04",
                  USAGE_DEFERRABLE="1" if request.param == "deferred" else "0")
    return env, emu, out, request.param


def _runs(emu, task_id, run_key):
    return [r for r in dataworks_runs(emu, task_id) if run_key in r["name"]]


def _tries(env, dag_id, task_id):
    return ti_rows(env, dag_id)[(task_id, -1)]


def _date(env):
    """The latest run's id as the run name holds it (so the blocking and the deferred runs differ)."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", env.latest_run_id("usage_timeouts_dw")).strip("_")


def test_execution_timeout_with_a_retry_left_reattaches_to_the_same_run(timeouts_dw):
    env, emu, out, mode = timeouts_dw
    _skip_af2_blocking(mode)
    ti = _tries(env, "usage_timeouts_dw", "exec_retry")
    assert (ti["state"], ti["try_number"]) == ("success", 2), out[-6000:]
    runs = _runs(emu, "exec_retry", _date(env))
    assert len(runs) == 1 and not runs[0]["stopped"], runs


def test_execution_timeout_of_the_last_try_stops_the_run_unless_cancel_on_kill_is_false(timeouts_dw):
    env, emu, out, mode = timeouts_dw
    _skip_af2_blocking(mode)
    got = states(env, "usage_timeouts_dw")
    assert got["exec_last"] == "failed" and got["exec_keep"] == "failed", out[-6000:]
    last, keep = _runs(emu, "exec_last", _date(env)), _runs(emu, "exec_keep", _date(env))
    assert len(last) == 1 and last[0]["stopped"], last
    assert len(keep) == 1 and not keep[0]["stopped"], keep


def test_wait_timeout_with_a_retry_left_is_retried_and_reattaches(timeouts_dw):
    env, emu, out, mode = timeouts_dw
    ti = _tries(env, "usage_timeouts_dw", "wait_retry")
    assert (ti["state"], ti["try_number"]) == ("success", 2), out[-6000:]
    runs = _runs(emu, "wait_retry", _date(env))
    assert len(runs) == 1 and not runs[0]["stopped"], runs


def test_wait_timeout_hard_stop_fails_at_once_and_stops_the_run(timeouts_dw):
    env, emu, out, mode = timeouts_dw
    ti = _tries(env, "usage_timeouts_dw", "wait_hard")
    assert (ti["state"], ti["try_number"]) == ("failed", 1), out[-6000:]  # retries=2 left, none taken
    runs = _runs(emu, "wait_hard", _date(env))
    assert len(runs) == 1 and runs[0]["stopped"], runs
    # At once: stopped at its 4 s wait timeout, not after the hour-long run (the emulator's own times,
    # on both Airflow versions). 60 s is generous for a loaded machine and still 60x shorter than the run.
    instance = emu.state()["dataworks"]["instances"][str(runs[0]["instance_id"])]
    stopped_after = (instance["runs"][-1]["stopped_ms"] - instance["create_ms"]) / 1000
    assert stopped_after < 60, instance


def test_sensor_execution_timeout_with_a_retry_left_reattaches(timeouts_dw):
    env, emu, out, mode = timeouts_dw
    _skip_af2_blocking(mode)
    ti = _tries(env, "usage_timeouts_dw", "sensor_exec")
    assert (ti["state"], ti["try_number"]) == ("success", 2), out[-6000:]
    runs = _runs(emu, "start_27s", _date(env))
    assert len(runs) == 1 and not runs[0]["stopped"], runs


def test_sensor_timeout_is_final_and_stops_the_watched_run(timeouts_dw):
    env, emu, out, mode = timeouts_dw
    ti = _tries(env, "usage_timeouts_dw", "sensor_timeout")
    assert (ti["state"], ti["try_number"]) == ("failed", 1), out[-6000:]
    assert "AirflowSensorTimeout" in out, out[-6000:]  # failed by its timeout (the DAG's only sensor timeout)
    runs = _runs(emu, "start_long", _date(env))
    assert len(runs) == 1 and runs[0]["stopped"], runs


@pytest.fixture(scope="module", params=["blocking", "deferred"])
def timeouts_eas(request, _airflow_home, usage_emulator):
    emu = usage_emulator
    before = {name: service_state(emu, name) for name in ("svc_t1", "svc_t2", "svc_t3")}
    updates = calls_of(emu, "eas", "UpdateService")
    env = fresh_dags(_airflow_home, "usage_timeouts.py")
    out = run_dag(env, emu, "usage_timeouts_eas", logical_date="2026-11-03" if request.param == "blocking" else "2026-11-04",
                  USAGE_DEFERRABLE="1" if request.param == "deferred" else "0")
    return env, emu, out, before, updates, request.param


def test_deploy_execution_timeout_with_a_retry_left_adds_one_version(timeouts_eas):
    env, emu, out, before, _, mode = timeouts_eas
    _skip_af2_blocking(mode)
    ti = _tries(env, "usage_timeouts_eas", "deploy_exec_retry")
    assert (ti["state"], ti["try_number"]) == ("success", 2), out[-6000:]
    current, versions = before["svc_t1"]
    assert service_state(emu, "svc_t1") == (versions + 1, versions + 1)


def test_deploy_execution_timeout_of_the_last_try_puts_the_previous_version_back(timeouts_eas):
    env, emu, out, before, _, mode = timeouts_eas
    _skip_af2_blocking(mode)
    assert states(env, "usage_timeouts_eas")["deploy_exec_last"] == "failed", out[-6000:]
    current, versions = before["svc_t2"]
    assert service_state(emu, "svc_t2") == (current, versions + 1)


def test_deploy_wait_timeout_with_a_retry_left_is_retried_without_a_rollback(timeouts_eas):
    env, emu, out, before, updates, mode = timeouts_eas
    ti = _tries(env, "usage_timeouts_eas", "deploy_wait_retry")
    assert (ti["state"], ti["try_number"]) == ("success", 2), out[-6000:]
    current, versions = before["svc_t3"]
    assert service_state(emu, "svc_t3") == (versions + 1, versions + 1)
    deploys = 3 if EXEC_IN_DAG(mode) else 1
    assert calls_of(emu, "eas", "UpdateService") - updates == deploys  # one per deploy task, retries included


def test_eas_sensor_timeout_is_final(timeouts_eas):
    env, _, out, _, _, mode = timeouts_eas
    ti = _tries(env, "usage_timeouts_eas", "eas_sensor_timeout")
    assert (ti["state"], ti["try_number"]) == ("failed", 1), out[-6000:]
    assert "AirflowSensorTimeout" in out, out[-6000:]  # failed by its timeout (the DAG's only sensor)
