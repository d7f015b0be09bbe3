"""Two DAG runs deploy to the same EAS service at once: no update is lost silently, and each rollback
targets the version its own deploy replaced or refuses clearly.

EAS has no compare-and-swap: UpdateService answers without naming the version it created. The two
interleavings that matter are forced deterministically, by running the other deploy from inside
this one's hook calls (real operators, real SDK, the emulator):
the other deploy lands between this deploy's UpdateService and its read-back, or while it waits.
Recommended in docs/reliability.md: an Airflow pool with 1 slot per service.
"""

from __future__ import annotations

import pytest

from airflow_provider_pai.hooks.eas import EasHook
from airflow_provider_pai.operators.eas import EasModifyServiceOperator, EasRollbackOperator
from tests.reliability.conftest import reliability_scenario, task_context
from tests.scenarios import churn_pmml

MODEL_A, MODEL_B = "oss://pai-demo/models/a/", "oss://pai-demo/models/b/"


@pytest.fixture
def pai_emulator_scenario() -> dict:
    scenario = reliability_scenario()
    scenario["eas"]["services"][0]["start_seconds"] = 8  # a rollout the other deploy can overlap
    for name in ("a", "b"):
        scenario["oss"]["objects"].append({"uri": f"oss://pai-demo/models/{name}/model.pmml", "content": churn_pmml(name)})
    return scenario


def deploy(model_path: str, timeout: float = 30) -> EasModifyServiceOperator:
    return EasModifyServiceOperator(task_id="deploy", service_name="churn_model", model_path=model_path,
                                    poll_interval=1, timeout=timeout, deferrable=False)


def rollback() -> EasRollbackOperator:
    return EasRollbackOperator(task_id="rollback", service_name="churn_model", deploy_task_id="deploy",
                               poll_interval=1, timeout=30, deferrable=False)


def service(emu) -> dict:
    return emu.state()["eas"]["services"]["churn_model"]


def model_of(emu, version: int) -> str:
    return service(emu)["versions"][version - 1]["config"]["model_path"]


def run_rollback(ctx: dict):
    """The rollback task of one DAG run (it shares the run's XCom): its result or its error text."""
    try:
        from airflow.sdk import DAG
    except ImportError:  # Airflow 2
        from airflow.models import DAG
    from datetime import datetime

    with DAG("reliability", schedule=None, start_date=datetime(2026, 1, 1)):  # the rollback reads "deploy" in it
        deploy(MODEL_A)
        task = rollback()
    try:
        ti = _as_task(ctx, "rollback")
        return task.execute({"ti": ti, "task": task, "dag_run": ti})
    except Exception as exc:  # noqa: BLE001 - the refusal is what is checked
        return f"refused: {exc}"


def _as_task(ctx: dict, task_id: str):
    ti = ctx["ti"]
    ti.task_id = task_id
    return ti


def test_update_landing_alongside_is_refused_not_claimed(pai_emulator):
    ctx_a, ctx_b = task_context("deploy", run_id="run_a"), task_context("deploy", run_id="run_b")
    results = {}
    op_b = deploy(MODEL_B)
    hook = EasHook()
    real_update = hook.update_service

    def update_then_other_deploy(*args, **kwargs):
        answer = real_update(*args, **kwargs)  # B's version 2 exists now...
        results["a"] = deploy(MODEL_A).execute(ctx_a)  # ...and run A deploys version 3 before B reads back
        return answer

    hook.update_service = update_then_other_deploy
    op_b.__dict__["hook"] = hook
    with pytest.raises(Exception, match=r"landed at the same time.*pool with 1 slot per service") as raised:
        op_b.execute(ctx_b)

    assert "Nothing was rolled back; version 3 is current" in str(raised.value)
    assert results["a"]["version"] == 3 and model_of(pai_emulator, 3) == MODEL_A
    assert results["a"]["previous_version"] == 2 and model_of(pai_emulator, 2) == MODEL_B
    assert service(pai_emulator)["current"] == 3  # B's failure did not touch A's deployment

    # Run B's rollback has no deployment to undo; run A's goes back to what A replaced (B's version 2).
    ctx_b["ti"].states["deploy"] = "failed"  # as Airflow records B's deploy
    # B's deploy failed and recorded nothing: its rollback refuses (an error naming the task and what it
    # found, never a skip on a guess: issue-14 rule) and changes nothing.
    refusal = run_rollback(ctx_b)
    assert "task 'deploy' (deploy_task_id) recorded no deployment" in refusal and "its state: failed" in refusal
    assert service(pai_emulator)["current"] == 3
    assert run_rollback(ctx_a)["version"] == 2
    assert service(pai_emulator)["current"] == 2


def test_deploy_overtaken_while_waiting_fails_without_undoing_the_other(pai_emulator):
    ctx_a, ctx_b = task_context("deploy", run_id="run_a"), task_context("deploy", run_id="run_b")
    outcome = {}
    op_b = deploy(MODEL_B, timeout=15)
    hook = EasHook()
    real_update, real_describe = hook.update_service, hook.describe_service
    reads_after_update = []

    def update(*args, **kwargs):
        reads_after_update.append("update")
        return real_update(*args, **kwargs)

    def describe_then_other_deploy(*args, **kwargs):
        if reads_after_update and len(reads_after_update) == 2:  # after the read-back: B's first wait poll
            outcome["a"] = deploy(MODEL_A).execute(ctx_a)  # run A deploys over B's rollout and waits for it
        if reads_after_update:
            reads_after_update.append("describe")
        return real_describe(*args, **kwargs)

    hook.update_service, hook.describe_service = update, describe_then_other_deploy
    op_b.__dict__["hook"] = hook
    try:
        outcome["b"] = op_b.execute(ctx_b)
    except Exception as exc:  # noqa: BLE001 - how B ends is what is checked
        outcome["b"] = exc
    result_a = outcome["a"]

    assert result_a["version"] == 3 and model_of(pai_emulator, 3) == MODEL_A
    assert model_of(pai_emulator, 2) == MODEL_B
    # B never served: it must fail (not claim success), and must not roll the service back from
    # under run A, whose task reported version 3 as deployed.
    assert isinstance(outcome["b"], Exception), outcome["b"]
    assert service(pai_emulator)["current"] == 3, (
        f"run B's failure handling moved the service from A's version 3 to {service(pai_emulator)['current']}: "
        f"run A's successful deploy was undone silently. B failed with: {outcome['b']}"
    )
    assert "another deploy has moved EAS service churn_model on to version 3" in str(outcome["b"])
    assert "superseded" in str(outcome["b"])  # noticed at the next poll, not after waiting out the timeout
    # B's rollback refuses: the service has moved on since B's deploy.
    assert "another deploy has moved the service on" in run_rollback(ctx_b)
    assert service(pai_emulator)["current"] == 3
