"""The asset-driven example pair: pai_train_accept emits "model ready" only for accepted models, and
pai_deploy_accepted (scheduled on that asset) deploys only accepted models.

`airflow dags test` runs no scheduler, so the trigger is checked where the scheduler reads it: the
asset event (with its extra) and the deploy DAG's row in the asset queue, in the metadata DB.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_pai.hooks.eas import EasHook
from airflow_provider_pai.version_compat import AIRFLOW_V_3_0_PLUS

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
ASSET = "oss://pai-demo/models/churn/"
GOOD, BAD = "oss://pai-demo/models/churn/20261120/", "oss://pai-demo/models/churn/20261121/"
EVENTS = "asset_event" if AIRFLOW_V_3_0_PLUS else "dataset_event"
QUEUE = "asset_dag_run_queue" if AIRFLOW_V_3_0_PLUS else "dataset_dag_run_queue"
ASSETS = ("asset", "asset_id") if AIRFLOW_V_3_0_PLUS else ("dataset", "dataset_id")


@pytest.fixture
def pair(airflow_env):
    for name in ("pai_train_accept.py", "pai_deploy_accepted.py"):
        airflow_env.add_dag_file(EXAMPLES / name)
    # As a deployment's DAG processor would: the deploy DAG's schedule must be known to be queued.
    airflow_env.airflow("dags", "reserialize", check=True)
    airflow_env.airflow("dags", "unpause", "pai_deploy_accepted", check=True)  # paused DAGs are never queued
    return airflow_env


def accepted_events(env) -> list[dict]:
    table, key = ASSETS
    # Airflow 3 stores the URI normalised (no trailing slash).
    rows = env._query(f"SELECT e.extra FROM {EVENTS} e JOIN {table} a ON a.id = e.{key} WHERE a.uri IN (?, ?) "
                      "ORDER BY e.id", (ASSET, ASSET.rstrip("/")))
    return [json.loads(extra) for (extra,) in rows]


def queued_for_deploy(env) -> int:
    table, key = ASSETS
    return env._query(f"SELECT COUNT(*) FROM {QUEUE} q JOIN {table} a ON a.id = q.{key} "
                      "WHERE q.target_dag_id = 'pai_deploy_accepted' AND a.uri IN (?, ?)", (ASSET, ASSET.rstrip("/")))[0][0]


def test_only_an_accepted_model_is_announced_and_deployed(pai_emulator, pair):
    env = pai_emulator.airflow_env()
    bad = pair.dags_test("pai_train_accept", logical_date="2026-11-21", env=env,
                         conf={"node_id": 700002, "output_prefix": "oss://pai-demo/designer/churn_broken/"})
    states = pair.task_states("pai_train_accept")
    assert (states["stage"], states["test_model"], states["accept"]) == ("success", "failed", "upstream_failed"), \
        (bad.stdout + bad.stderr)[-4000:]
    assert accepted_events(pair) == [] and queued_for_deploy(pair) == 0  # the rejected model triggers nothing

    good = pair.dags_test("pai_train_accept", logical_date="2026-11-20", env=env)
    assert pair.run_state("pai_train_accept") == "success", (good.stdout + good.stderr)[-4000:]
    (event,) = accepted_events(pair)
    assert event["model_uri"] == GOOD and event["accepted_by"].startswith("pai_train_accept/")
    assert queued_for_deploy(pair) == 1  # the scheduler would start pai_deploy_accepted now

    # The deploy DAG, given what the event carries, rolls production onto the accepted model ...
    before = EasHook().describe_service("churn_model")
    deployed = pair.dags_test("pai_deploy_accepted", conf={"model_uri": event["model_uri"]}, env=env)
    assert pair.task_states("pai_deploy_accepted") == {"accepted_model": "success", "deploy": "success"}, \
        (deployed.stdout + deployed.stderr)[-4000:]
    after = EasHook().describe_service("churn_model")
    assert after["CurrentVersion"] == before["LatestVersion"] + 1 and f'"model_path": "{GOOD}"' in after["ServiceConfig"]

    # ... and refuses the rejected one even when asked by hand.
    refused = pair.dags_test("pai_deploy_accepted", conf={"model_uri": BAD}, env=env)
    assert pair.task_states("pai_deploy_accepted") == {"accepted_model": "failed", "deploy": "upstream_failed"}
    assert "was never accepted" in refused.stdout + refused.stderr
    assert EasHook().describe_service("churn_model")["LatestVersion"] == after["LatestVersion"]
