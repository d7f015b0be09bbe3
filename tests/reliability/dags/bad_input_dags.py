"""Bad input under a real Airflow: a non-Designer node and a rollback past the newest version."""

from __future__ import annotations

import pendulum

from airflow.providers.common.compat.sdk import DAG
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.operators.eas import EasRollbackOperator

with DAG(
    dag_id="reliability_bad_input",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
):
    TriggerDesignerNodeOperator(task_id="not_designer", project_id=10001, node_id=700003)
    EasRollbackOperator(task_id="rollback_past_latest", service_name="churn_model", version=9)
