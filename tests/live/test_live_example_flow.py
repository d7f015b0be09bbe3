"""The example flow itself against a real account: ``airflow dags test pai_train_deploy`` with the
operators, not only the hooks, meeting the cloud. It starts a DataWorks run, copies the model in
OSS and updates the EAS service, so it is billed and changes your service: only with
PAI_LIVE_MUTATE=1 (docs/live-tests.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import REMOVED_PROXIES
from tests.live.conftest import live_connection, mutating, need

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "pai_train_deploy.py"
FLOW_VARS = ("PAI_LIVE_DW_PROJECT_ID", "PAI_LIVE_DW_NODE_ID", "PAI_LIVE_FLOW_OUTPUT_PREFIX",
             "PAI_LIVE_FLOW_RELEASE_PREFIX", "PAI_LIVE_EAS_SERVICE")


@pytest.fixture
def flow_env(request):
    """Gate first (skips name what is missing), and only then pay for an Airflow home."""
    mutating()
    env = need(*FLOW_VARS)
    return env, request.getfixturevalue("airflow_env")


def test_the_example_flow_deploys_on_the_real_cloud(flow_env):
    env, airflow_env = flow_env
    airflow_env.add_dag_file(EXAMPLE)
    conf = {"project_id": int(env["PAI_LIVE_DW_PROJECT_ID"]), "node_id": int(env["PAI_LIVE_DW_NODE_ID"]),
            "output_prefix": env["PAI_LIVE_FLOW_OUTPUT_PREFIX"], "release_prefix": env["PAI_LIVE_FLOW_RELEASE_PREFIX"],
            "service_name": env["PAI_LIVE_EAS_SERVICE"]}
    run_env = {"AIRFLOW_CONN_PAI_DEFAULT": live_connection(), **REMOVED_PROXIES}
    if REMOVED_PROXIES:  # the harness sets NO_PROXY=*; a real account may need the proxy tests removed
        run_env["NO_PROXY"] = run_env["no_proxy"] = "127.0.0.1,localhost"
    result = airflow_env.dags_test("pai_train_deploy", conf=conf, logical_date=os.environ.get("PAI_LIVE_LOGICAL_DATE"),
                                   env=run_env, timeout=3 * 3600)
    states = airflow_env.task_states("pai_train_deploy")
    print(f"example flow on the real cloud: {json.dumps(states, sort_keys=True)}")
    assert states == {"train": "success", "wait_for_training": "success", "export_model": "success",
                      "deploy": "success", "test_service": "success", "rollback": "skipped", "report": "success"}, \
        (result.stdout + result.stderr)[-6000:]
    assert env["PAI_LIVE_ACCESS_KEY_SECRET"] not in result.stdout + result.stderr
