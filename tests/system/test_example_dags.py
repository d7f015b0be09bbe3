"""The example DAGs, as they ship, end to end: a real Airflow (`airflow dags test`), the real SDKs, the emulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from airflow_provider_pai.hooks.eas import EasHook

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"


def test_example_dags_import_cleanly():
    code = (
        "import runpy, sys; "
        "[print(d.dag_id, sorted(d.task_ids)) for d in (runpy.run_path(f)['dag'] for f in sys.argv[1:])]"
    )
    files = [str(EXAMPLES / "pai_initial_deploy.py"), str(EXAMPLES / "pai_train_deploy.py")]
    result = subprocess.run([sys.executable, "-c", code, *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "pai_initial_deploy ['create_service']" in result.stdout
    assert (
        "pai_train_deploy ['deploy', 'export_model', 'report', 'rollback', 'test_service', 'train', "
        "'wait_for_training']" in result.stdout
    )


def test_initial_deploy_creates_the_service_and_a_rerun_keeps_it(pai_emulator, airflow_env):
    airflow_env.add_dag_file(EXAMPLES / "pai_initial_deploy.py")
    env = pai_emulator.airflow_env()
    first = airflow_env.dags_test("pai_initial_deploy", logical_date="2026-11-20", env=env)
    assert airflow_env.run_state("pai_initial_deploy") == "success", first.stdout[-3000:] + first.stderr[-3000:]
    created = airflow_env.xcom("pai_initial_deploy", "create_service")
    assert created["service_name"] == "churn_model_initial" and created["version"] == 1
    answer = EasHook().predict("churn_model_initial", [{"tenure": 60, "monthly_charges": 25.0, "contract": "two_year"}])
    assert answer[0]["churn"] == 0  # the PMML processor serves the demo's initial model

    airflow_env.dags_test("pai_initial_deploy", logical_date="2026-11-21", env=env)
    assert airflow_env.run_state("pai_initial_deploy") == "success"
    assert pai_emulator.calls()["eas"]["CreateService"] == 1  # if_exists="skip": no second service


def test_broken_model_fails_its_test_and_is_rolled_back(pai_emulator, airflow_env):
    """The seed's manual `eascmd version -f`, automated: the test task fails, the rollback restores v1."""
    airflow_env.add_dag_file(EXAMPLES / "pai_train_deploy.py")
    conf = {"node_id": 700002, "output_prefix": "oss://pai-demo/designer/churn_broken/"}
    result = airflow_env.dags_test("pai_train_deploy", conf=conf, logical_date="2026-11-21", env=pai_emulator.airflow_env())
    output = result.stdout + result.stderr

    states = airflow_env.task_states("pai_train_deploy")
    assert states == {
        "train": "success", "wait_for_training": "success", "export_model": "success", "deploy": "success",
        "test_service": "failed", "rollback": "success", "report": "failed",
    }, output[-4000:]
    deployed = airflow_env.xcom("pai_train_deploy", "deploy")
    assert (deployed["previous_version"], deployed["version"]) == (1, 2)
    assert airflow_env.xcom("pai_train_deploy", "rollback")["version"] == 1
    service = EasHook().describe_service("churn_model")
    assert (service["CurrentVersion"], service["Status"]) == (1, "Running")
    assert '"model_path": "oss://pai-demo/models/churn/initial/"' in service["ServiceConfig"]
    # The model that serves again tells a churner from a loyal customer (the rejected one could not).
    churner, loyal = EasHook().predict("churn_model", [
        {"tenure": 2, "monthly_charges": 95.0, "contract": "month-to-month"},
        {"tenure": 60, "monthly_charges": 25.0, "contract": "two_year"}])
    assert churner["probability(1)"] > 0.5 > loyal["probability(1)"]
    # The training log reached the task log, each line once.
    assert output.count("training logistic regression") == 1 and "AUC 0.52" in output


def test_train_deploy_on_a_new_data_studio_workspace(pai_emulator, airflow_env):
    """The example DAG as shipped, pointed at a workspace on the new Data Studio: auto picks 2024-05-18."""
    airflow_env.add_dag_file(EXAMPLES / "pai_train_deploy.py")
    conf = {"project_id": 20001, "node_id": 900001, "output_prefix": "oss://pai-demo/designer/churn_studio/"}
    result = airflow_env.dags_test("pai_train_deploy", conf=conf, logical_date="2026-11-22", env=pai_emulator.airflow_env())
    output = result.stdout + result.stderr
    assert airflow_env.run_state("pai_train_deploy") == "success", output[-4000:]
    assert "DataWorks OpenAPI 2024-05-18 for workspace 20001" in output
    started = airflow_env.xcom("pai_train_deploy", "train")
    assert (started["api_version"], started["task_id"]) == ("2024-05-18", 910001)
    calls = pai_emulator.calls()["dataworks"]
    assert calls["CreateWorkflowInstances"] == 1 and "RunCycleDagNodes" not in calls
    churner, loyal = EasHook().predict("churn_model", [
        {"tenure": 2, "monthly_charges": 95.0, "contract": "month-to-month"},
        {"tenure": 60, "monthly_charges": 25.0, "contract": "two_year"}])
    assert churner["probability(1)"] > 0.5 > loyal["probability(1)"]  # the Data Studio run's PMML serves
    served = pai_emulator.state()["eas"]["services"]["churn_model"]
    assert served["current"] == 2 and served["versions"][1]["config"]["model_path"] == "oss://pai-demo/models/churn/20261122/"
    assert output.count("training logistic regression") == 1 and "AUC 0.92" in output
