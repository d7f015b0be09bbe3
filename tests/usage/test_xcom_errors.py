"""An XCom one operator reads from another that is missing, ambiguous or of the wrong shape fails
that task, naming the task and what was found: never a skip, never a guess."""

from __future__ import annotations

import re

import pytest

from tests.usage.conftest import calls_of, fresh_dags, run_dag, service_state, states, ti_rows

pytestmark = pytest.mark.slow
DAG_ID = "usage_xcom_errors"


@pytest.fixture(scope="module")
def xcom_errors(_airflow_home, usage_emulator):
    emu = usage_emulator
    emu.reset_calls()
    env = fresh_dags(_airflow_home, "usage_xcom_errors.py")
    out = run_dag(env, emu, DAG_ID, logical_date="2026-11-02")
    return env, emu, out


def _said(out: str, *parts: str) -> bool:
    """Some log line names all of ``parts``."""
    return any(all(p in line for p in parts) for line in out.splitlines())


def test_mapped_rollback_whose_index_deployed_another_service_fails(xcom_errors):
    env, emu, out = xcom_errors
    assert states(env, DAG_ID)["rollback_swapped"] == ["failed", "failed"], out[-5000:]
    assert _said(out, "deploy_x", "svc_j", "svc_k"), out[-5000:]
    assert service_state(emu, "svc_j") == (2, 2) and service_state(emu, "svc_k") == (2, 2)


def test_unmapped_rollback_of_a_service_the_mapped_deploy_never_touched_fails(xcom_errors):
    env, emu, out = xcom_errors
    assert states(env, DAG_ID)["rollback_other"] == "failed", out[-5000:]
    assert _said(out, "deploy_x", "churn_model"), out[-5000:]


@pytest.mark.parametrize("task_id, upstream, found", [
    ("rollback_wrong_shape", "bad_record", "'hello'"),
    ("rollback_missing", "no_record", "None"),
    ("rollback_unknown", "no_such_task", "no_such_task"),
    ("rollback_after_fail", "deploy_fails", "failed"),
])
def test_missing_or_wrong_shaped_deploy_record_fails_naming_task_and_value(xcom_errors, task_id, upstream, found):
    env, _, out = xcom_errors
    assert states(env, DAG_ID)[task_id] == "failed", out[-5000:]
    assert _said(out, upstream, found), out[-5000:]


def test_rollback_of_a_deploy_that_never_ran_is_a_skip_saying_so(xcom_errors):
    env, _, out = xcom_errors
    got = states(env, DAG_ID)
    assert got["deploy_never"] == "upstream_failed" and got["rollback_never"] == "skipped", out[-5000:]
    assert _said(out, "deploy_never", "upstream_failed"), out[-5000:]


def test_a_list_where_one_value_is_expected_fails_before_any_change(xcom_errors):
    env, emu, out = xcom_errors
    got = states(env, DAG_ID)
    assert got["deploy_list"] == "failed" and got["wait_list"] == "failed", out[-5000:]
    assert re.search(r"model_path.*list of 2", out) and re.search(r"instance_id.*list of 2", out), out[-5000:]
    assert service_state(emu, "churn_model") == (1, 1)
    assert ti_rows(env, DAG_ID)[("wait_list", -1)]["try_number"] == 1


def test_no_rollback_happened_anywhere(xcom_errors):
    _, emu, _ = xcom_errors
    assert calls_of(emu, "eas", "UpdateServiceVersion") == 0
    assert calls_of(emu, "eas", "UpdateService") == 2  # svc_j and svc_k, the only deploys that could run
