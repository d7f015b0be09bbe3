"""Least privilege: the example flow under exactly the RAM policy in docs/ram-policy.json (the
emulator enforces a credential's ``ram_policy``), and with one action taken out of it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario

REPO = Path(__file__).resolve().parents[2]
POLICY = json.loads((REPO / "docs" / "ram-policy.json").read_text())
EXAMPLE = REPO / "example_dags" / "pai_train_deploy.py"
BROKEN_CONF = {"node_id": 700002, "output_prefix": "oss://pai-demo/designer/churn_broken/"}


def without(policy: dict, action: str) -> dict:
    policy = copy.deepcopy(policy)
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a != action]
    return policy


@pytest.fixture
def ram_policy():
    return POLICY


@pytest.fixture
def pai_emulator_scenario(ram_policy):
    scenario = copy.deepcopy(load_scenario(DEMO_SCENARIO))
    scenario["credentials"][0]["ram_policy"] = ram_policy
    return scenario


def _policy_for_broken_flow() -> dict:
    """The documented policy, with the broken-model demo's source prefix (another training output)."""
    policy = copy.deepcopy(POLICY)
    for statement in policy["Statement"]:
        if statement["Action"] == "oss:ListObjects":
            statement["Condition"]["StringLike"]["oss:Prefix"].append("designer/churn_broken/*")
        if statement["Action"] == "oss:GetObject":
            statement["Resource"].append("acs:oss:*:*:pai-demo/designer/churn_broken/*")
    return policy


def test_the_documented_policy_is_enough_for_the_example_flow(pai_emulator, airflow_env):
    airflow_env.add_dag_file(EXAMPLE)
    result = airflow_env.dags_test("pai_train_deploy", logical_date="2026-11-21", env=pai_emulator.airflow_env())
    states = airflow_env.task_states("pai_train_deploy")
    assert states == {"train": "success", "wait_for_training": "success", "export_model": "success",
                      "deploy": "success", "test_service": "success", "rollback": "skipped", "report": "success"}, \
        (result.stdout + result.stderr)[-4000:]
    assert "Forbidden" not in result.stdout + result.stderr


@pytest.mark.parametrize("ram_policy", [_policy_for_broken_flow()], ids=["documented"])
def test_the_documented_policy_covers_the_rollback(pai_emulator, airflow_env, ram_policy):
    airflow_env.add_dag_file(EXAMPLE)
    result = airflow_env.dags_test("pai_train_deploy", conf=BROKEN_CONF, logical_date="2026-11-22",
                                   env=pai_emulator.airflow_env())
    states = airflow_env.task_states("pai_train_deploy")
    assert states["deploy"] == "success" and states["test_service"] == "failed", (result.stdout + result.stderr)[-4000:]
    assert states["rollback"] == "success", (result.stdout + result.stderr)[-4000:]
    assert pai_emulator.state()["eas"]["services"]["churn_model"]["current"] == 1


@pytest.mark.parametrize("ram_policy", [without(POLICY, "eas:UpdateService")], ids=["no-eas-UpdateService"])
def test_without_one_action_the_deploy_fails_naming_it_and_changes_nothing(pai_emulator, airflow_env, ram_policy):
    airflow_env.add_dag_file(EXAMPLE)
    result = airflow_env.dags_test("pai_train_deploy", logical_date="2026-11-23", env=pai_emulator.airflow_env())
    output = result.stdout + result.stderr
    states = airflow_env.task_states("pai_train_deploy")
    assert states["export_model"] == "success" and states["deploy"] == "failed", output[-4000:]
    assert "UpdateService failed (HTTP 403): Forbidden.RAM" in output, output[-4000:]
    assert "eas:UpdateService" in output  # the denied RAM action, named
    service = pai_emulator.state()["eas"]["services"]["churn_model"]
    assert len(service["versions"]) == 1 and service["current"] == 1  # no version added


@pytest.mark.parametrize("ram_policy", [without(POLICY, "oss:PutObject")], ids=["no-oss-PutObject"])
def test_without_put_object_the_export_fails_before_writing_anything(pai_emulator, airflow_env, ram_policy):
    airflow_env.add_dag_file(EXAMPLE)
    result = airflow_env.dags_test("pai_train_deploy", logical_date="2026-11-24", env=pai_emulator.airflow_env())
    output = result.stdout + result.stderr
    states = airflow_env.task_states("pai_train_deploy")
    assert states["export_model"] == "failed" and states["deploy"] in ("upstream_failed", None), output[-4000:]
    assert "AccessDenied" in output and "oss:PutObject" in output, output[-4000:]
    objects = pai_emulator.state()["oss"]
    assert not any("models/churn/20261124" in json.dumps(v) for v in objects.values()), objects
