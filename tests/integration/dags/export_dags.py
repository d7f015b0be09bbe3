"""DAG for tests/integration/test_export_dags.py: export a model with a lowered multipart threshold."""

from __future__ import annotations

import pendulum

from airflow.providers.common.compat.sdk import DAG, Param
from airflow_provider_pai.operators.oss import ExportModelToOSSOperator

MiB = 1024 * 1024

with DAG(
    dag_id="export_model_test",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    params={"source": Param("oss://pai-demo/designer/churn/x/model/", type="string"),
            "destination": Param("oss://pai-demo/models/churn/x/", type="string")},
) as dag:
    ExportModelToOSSOperator(
        task_id="export",
        source="{{ params.source }}",
        destination="{{ params.destination }}",
        multipart_threshold=1 * MiB,
        part_size=1 * MiB,
        max_workers=3,
    )
