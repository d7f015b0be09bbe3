"""Issue 23 item 6: a task that fails before its console link is known leaves no "XCom not found ...
_link_..." error in the log (Airflow 3's worker asks every extra link when a task ends)."""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"


def test_a_task_failing_before_its_link_logs_no_missing_link_xcom(pai_emulator, airflow_env):
    airflow_env.add_dag_file(EXAMPLES / "pai_train_deploy.py")
    # A node that does not exist: train fails before a run (and so its link) exists; rollback has no
    # deploy to roll back and never learns a service link either.
    result = airflow_env.dags_test("pai_train_deploy", conf={"node_id": 799999}, logical_date="2026-11-23",
                                   env=pai_emulator.airflow_env())
    output = result.stdout + result.stderr
    states = airflow_env.task_states("pai_train_deploy")
    assert states["train"] == "failed", output[-4000:]  # the failure path ran
    assert "799999" in output
    missing = [line for line in output.splitlines() if "XCom not found" in line and "_link_" in line]
    assert missing == [], missing
    assert airflow_env.xcom("pai_train_deploy", "train", key="_link_DataWorksInstanceLink") in (None, "")
