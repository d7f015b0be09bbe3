"""The model-registry example pair end to end with `airflow dags test` (real Airflow, real SDKs, the emulator):
pai_train_register registers each model, approves it when its test passes and rejects it when not;
pai_deploy_approved deploys the latest Approved version, so a rejected version is never deployed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_pai.hooks.aiworkspace import AiWorkspaceHook
from airflow_provider_pai.hooks.eas import EasHook
from airflow_provider_pai.version_compat import AIRFLOW_V_3_0_PLUS

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
GOOD, BAD = "oss://pai-demo/models/churn/20261120/", "oss://pai-demo/models/churn/20261121/"
BROKEN = {"node_id": 700002, "output_prefix": "oss://pai-demo/designer/churn_broken/"}
ASSET = "oss://pai-demo/models/churn/approved/"
EVENTS, ASSETS = ("asset_event", ("asset", "asset_id")) if AIRFLOW_V_3_0_PLUS else ("dataset_event",
                                                                                    ("dataset", "dataset_id"))


@pytest.fixture
def pair(airflow_env):
    for name in ("pai_train_register.py", "pai_deploy_approved.py"):
        airflow_env.add_dag_file(EXAMPLES / name)
    # As a deployment's DAG processor would: Airflow 2 records an event only for a dataset it has serialized.
    airflow_env.airflow("dags", "reserialize", check=True)
    return airflow_env


def approved_events(env) -> list[dict]:
    table, key = ASSETS
    rows = env._query(f"SELECT e.extra FROM {EVENTS} e JOIN {table} a ON a.id = e.{key} WHERE a.uri IN (?, ?) "
                      "ORDER BY e.id", (ASSET, ASSET.rstrip("/")))
    return [json.loads(extra) for (extra,) in rows]


def versions() -> list[dict]:
    hook = AiWorkspaceHook()
    model = hook.find_model("86001", "churn")
    return hook.list_model_versions(model["ModelId"], order="ASC") if model else []


def test_rejected_is_never_deployed_and_approved_is(pai_emulator, pair):
    env = pai_emulator.airflow_env()
    before = EasHook().describe_service("churn_model")

    bad = pair.dags_test("pai_train_register", logical_date="2026-11-21", env=env, conf=BROKEN)
    states = pair.task_states("pai_train_register")
    assert (states["register"], states["test_model"], states["accept"], states["reject"]) == \
        ("success", "failed", "upstream_failed", "success"), (bad.stdout + bad.stderr)[-4000:]
    (rejected,) = versions()
    assert (rejected["VersionName"], rejected["ApprovalStatus"]) == ("0.1.0", "Rejected")
    assert rejected["Uri"] == "oss://pai-demo.oss-cn-shanghai.aliyuncs.com/models/churn/20261121/"
    assert approved_events(pair) == []

    refused = pair.dags_test("pai_deploy_approved", env=env)  # nothing Approved yet: refused, nothing changed
    assert pair.task_states("pai_deploy_approved") == {"registry_model": "success", "deploy": "failed"}
    assert "has no Approved version yet" in refused.stdout + refused.stderr
    assert EasHook().describe_service("churn_model")["LatestVersion"] == before["LatestVersion"]

    good = pair.dags_test("pai_train_register", logical_date="2026-11-20", env=env)
    states = pair.task_states("pai_train_register")
    assert (states["accept"], states["reject"]) == ("success", "skipped"), (good.stdout + good.stderr)[-4000:]
    rejected, approved = versions()
    assert (approved["VersionName"], approved["ApprovalStatus"]) == ("0.2.0", "Approved")
    assert rejected["ApprovalStatus"] == "Rejected"
    labels = {lb["Key"]: lb["Value"] for lb in approved["Labels"]}
    assert labels["airflow-dag"] == "pai_train_register" and labels["dataworks-instance"].isdigit()
    (event,) = approved_events(pair)
    assert (event["version_name"], event["model_uri"]) == ("0.2.0", GOOD)
    assert event["summary"].startswith(f"model {event['model_id']} version 0.2.0 (Approved)")

    deployed = pair.dags_test("pai_deploy_approved", env=env)
    assert pair.task_states("pai_deploy_approved") == {"registry_model": "success", "deploy": "success"}, \
        (deployed.stdout + deployed.stderr)[-4000:]
    after = EasHook().describe_service("churn_model")
    assert f'"model_path": "{GOOD}"' in after["ServiceConfig"] and BAD not in after["ServiceConfig"]
    assert "Deploying model" in deployed.stdout + deployed.stderr  # the log names the version it deploys
