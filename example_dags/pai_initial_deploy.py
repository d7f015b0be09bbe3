"""The first deployment of a model service, as the seed's `eascmd create echo.json` does it.

Run it once before ``pai_train_deploy`` keeps the service fresh. ``if_exists="skip"`` makes a
rerun harmless.
"""

from __future__ import annotations

import pendulum

from airflow.providers.common.compat.sdk import DAG
from airflow_provider_pai.operators.eas import EasCreateServiceOperator

# --8<-- [start:howto_initial_deploy]
SERVICE_CONFIG = {
    "name": "churn_model_initial",
    "generate_token": "true",
    "model_path": "oss://pai-demo/models/churn/initial/",
    "processor": "pmml",  # EAS's built-in PMML processor (the emulator scores PMML regression models)
    "metadata": {"instance": 1, "cpu": 2, "memory": 4000},
}

with DAG(
    dag_id="pai_initial_deploy",
    schedule=None,
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
    tags=["pai", "example"],
) as dag:
    EasCreateServiceOperator(
        task_id="create_service",
        service_config=SERVICE_CONFIG,
        if_exists="skip",
        poll_interval=2,
    )
# --8<-- [end:howto_initial_deploy]
