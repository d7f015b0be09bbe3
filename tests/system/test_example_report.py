"""The example DAG's `report` task says what happened in each path (issue 17, item 4)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "pai_train_deploy.py"
FAILING_NODE = 700004


@pytest.fixture
def pai_emulator_scenario() -> dict:
    scenario = copy.deepcopy(load_scenario(DEMO_SCENARIO))
    scenario["dataworks"]["projects"][0]["nodes"].append({
        "node_id": FAILING_NODE, "node_name": "train_churn_model_failing", "program_type": "PAI_STUDIO",
        "run_seconds": 3, "outcome": "FAILURE", "log": ["training failed: column churn_label not found"],
    })
    return scenario


def test_report_of_a_failed_training_says_nothing_was_deployed(pai_emulator, airflow_env):
    airflow_env.add_dag_file(EXAMPLE)
    result = airflow_env.dags_test("pai_train_deploy", conf={"node_id": FAILING_NODE}, logical_date="2026-11-21",
                                   env=pai_emulator.airflow_env())
    output = result.stdout + result.stderr
    states = airflow_env.task_states("pai_train_deploy")
    assert states == {
        "train": "success", "wait_for_training": "failed", "export_model": "upstream_failed",
        "deploy": "upstream_failed", "test_service": "upstream_failed", "rollback": "skipped", "report": "failed",
    }, output[-4000:]
    assert "training failed (see wait_for_training)" in output, output[-4000:]
    assert "no model was exported and nothing was deployed: service churn_model is unchanged" in output
    # Nothing claims a deployment or a rollback that did not happen.
    assert "rolled back to version" not in output and "exported to None" not in output
    assert "UpdateService" not in (pai_emulator.calls().get("eas") or {})


def test_report_of_a_training_that_could_not_start_names_train(pai_emulator, airflow_env):
    """Issue 27 item 5: when ``train`` itself failed, the report does not send the user to wait_for_training."""
    airflow_env.add_dag_file(EXAMPLE)
    not_designer = 700003  # the scenario's non-PAI-Designer node: the operator refuses it
    result = airflow_env.dags_test("pai_train_deploy", conf={"node_id": not_designer}, logical_date="2026-11-22",
                                   env=pai_emulator.airflow_env())
    output = result.stdout + result.stderr
    states = airflow_env.task_states("pai_train_deploy")
    assert states["train"] == "failed" and states["wait_for_training"] == "upstream_failed", output[-4000:]
    assert "the training could not be started (see train)" in output, output[-4000:]
    assert "see wait_for_training" not in output
