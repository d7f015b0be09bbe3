"""A mapped training DAG run for several logical dates (and, on Airflow 2, run again for one)."""

from __future__ import annotations

import pendulum

from airflow.providers.common.compat.sdk import DAG
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator

with DAG(dag_id="usage_dates", schedule=None, start_date=pendulum.datetime(2026, 11, 1, tz="UTC"), catchup=False):
    TriggerDesignerNodeOperator.partial(task_id="train", project_id=10001, node_id=700001).expand(
        node_params=[{"alpha": "0.1"}, {"alpha": "0.2"}]
    )
