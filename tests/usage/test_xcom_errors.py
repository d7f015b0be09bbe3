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


def _said(out: str, pattern: str) -> bool:
    """Some log line matches ``pattern``: the provider's own sentence, which no Airflow line says."""
    return any(re.search(pattern, line) for line in out.splitlines())


def test_mapped_rollback_whose_index_deployed_another_service_fails(xcom_errors):
    env, emu, out = xcom_errors
    assert states(env, DAG_ID)["rollback_swapped"] == ["failed", "failed"], out[-5000:]
    for index, deployed, asked in ((0, "svc_j", "svc_k"), (1, "svc_k", "svc_j")):
        assert _said(out, rf"UpstreamError: task 'deploy_x' \(map index {index}\) \(deploy_task_id\) deployed EAS "
                          rf"service '{deployed}', but this task rolls back '{asked}' \(service_name\)"), out[-5000:]
    assert service_state(emu, "svc_j") == (2, 2) and service_state(emu, "svc_k") == (2, 2)


def test_unmapped_rollback_of_a_service_the_mapped_deploy_never_touched_fails(xcom_errors):
    env, emu, out = xcom_errors
    assert states(env, DAG_ID)["rollback_other"] == "failed", out[-5000:]
    assert _said(out, r"UpstreamError: task 'deploy_x' \(deploy_task_id, mapped\) deployed EAS services "
                      r"\['svc_j', 'svc_k'\], not 'churn_model' \(service_name\)"), out[-5000:]


# (task, the provider's error naming the upstream task and what it found there)
@pytest.mark.parametrize("task_id, said", [
    ("rollback_wrong_shape", r"UpstreamError: task 'bad_record' \(deploy_task_id\) returned 'hello', not a deployment record"),
    ("rollback_missing", r"UpstreamError: task 'no_record' \(deploy_task_id\) recorded no deployment: found None in XCom "
                         r"\(its state: success\)"),
    ("rollback_unknown", r"UpstreamError: Task 'no_such_task' is not in DAG 'usage_xcom_errors'"),
    ("rollback_after_fail", r"UpstreamError: task 'deploy_fails' \(deploy_task_id\) recorded no deployment: found None "
                            r"in XCom \(its state: failed\)"),
])
def test_missing_or_wrong_shaped_deploy_record_fails_naming_task_and_value(xcom_errors, task_id, said):
    env, _, out = xcom_errors
    assert states(env, DAG_ID)[task_id] == "failed", out[-5000:]
    assert _said(out, said), out[-5000:]


def test_rollback_of_a_deploy_that_never_ran_is_a_skip_saying_so(xcom_errors):
    env, _, out = xcom_errors
    got = states(env, DAG_ID)
    assert got["deploy_never"] == "upstream_failed" and got["rollback_never"] == "skipped", out[-5000:]
    # The provider's own reason (Airflow's state lines also name the task and upstream_failed).
    assert _said(out, r"Nothing to roll back: task 'deploy_never' \(deploy_task_id\) never ran "
                      r"\(state upstream_failed\), so it deployed nothing"), out[-5000:]


def test_a_list_where_one_value_is_expected_fails_before_any_change(xcom_errors):
    env, emu, out = xcom_errors
    got = states(env, DAG_ID)
    assert got["deploy_list"] == "failed" and got["wait_list"] == "failed", out[-5000:]
    assert _said(out, r"PaiParameterError: Invalid model_path=.*got a list of 2 values where one is expected"), out[-5000:]
    assert _said(out, r"PaiParameterError: Invalid instance_id=.*list of 2"), out[-5000:]
    assert service_state(emu, "churn_model") == (1, 1)
    assert ti_rows(env, DAG_ID)[("wait_list", -1)]["try_number"] == 1


def test_no_rollback_happened_anywhere(xcom_errors):
    _, emu, _ = xcom_errors
    assert calls_of(emu, "eas", "UpdateServiceVersion") == 0
    assert calls_of(emu, "eas", "UpdateService") == 2  # svc_j and svc_k, the only deploys that could run
