"""The `pai_emulator` examples shown in docs/emulator.md (included from here, so they cannot rot)."""

from __future__ import annotations

# --8<-- [start:emulator_fixture]
import os
import subprocess
import sys
from pathlib import Path


from airflow_provider_pai.hooks.eas import EasHook

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DAGS_FOLDER = Path(__file__).resolve().parents[2] / "example_dags"  # your DAGs folder


def test_the_demo_service_answers(pai_emulator):
    # pai_emulator has pointed the pai_default connection at the emulator for this test.
    # The demo serves a PMML model: a JSON array of records in, one object per record out.
    answer = EasHook().predict("churn_model", [{"tenure": 2, "monthly_charges": 95.0, "contract": "month-to-month"}])
    assert answer[0]["churn"] == 1 and answer[0]["probability(1)"] > 0.5


def test_my_dag_deploys_the_new_model(pai_emulator, tmp_path):
    env = {
        **os.environ,
        **pai_emulator.airflow_env(),  # AIRFLOW_CONN_PAI_DEFAULT for the emulator, proxies off
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    run = subprocess.run([AIRFLOW, "dags", "test", "pai_train_deploy", "2026-11-20"], env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    assert EasHook().describe_service("churn_model")["CurrentVersion"] == 2  # the new model serves
    assert pai_emulator.calls()["dataworks"]["RunCycleDagNodes"] == 1  # one training run, not two
# --8<-- [end:emulator_fixture]
