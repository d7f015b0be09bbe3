"""DAGs for tests/integration/test_eas_dags.py: deploy then roll back, a failing deploy, a retried deploy.

The model path and the wait mode come from ``params``/environment so one file serves every test.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pendulum

from airflow.providers.common.compat.sdk import DAG, Param
from airflow_provider_pai.operators.eas import EasModifyServiceOperator, EasRollbackOperator

START = pendulum.datetime(2026, 11, 1, tz="UTC")
PARAMS = {"model_path": Param("oss://pai-demo/models/churn/v2/", type="string")}
DEFERRABLE = os.environ.get("EAS_TEST_DEFERRABLE") == "1"


class CrashOnceModifyOperator(EasModifyServiceOperator):
    """Dies on its first try right after UpdateService was accepted: what a killed worker leaves behind."""

    def submit(self, context, *args, **kwargs):
        target = super().submit(context, *args, **kwargs)
        marker = Path(os.environ["EAS_CRASH_MARKER"])
        if not marker.exists():
            marker.write_text("crashed")
            raise RuntimeError("simulated worker death after UpdateService")
        return target


with DAG(dag_id="eas_deploy_rollback", schedule=None, start_date=START, params=PARAMS):
    deploy = EasModifyServiceOperator(
        task_id="deploy", service_name="churn_model", model_path="{{ params.model_path }}",
        poll_interval=0.5, timeout=120, deferrable=DEFERRABLE,
    )
    rollback = EasRollbackOperator(
        task_id="rollback", service_name="churn_model", deploy_task_id="deploy",
        poll_interval=0.5, timeout=120, deferrable=DEFERRABLE,
    )
    deploy >> rollback

with DAG(dag_id="eas_deploy_only", schedule=None, start_date=START, params=PARAMS):
    EasModifyServiceOperator(
        task_id="deploy", service_name="churn_model", model_path="{{ params.model_path }}",
        poll_interval=0.5, timeout=120, deferrable=DEFERRABLE,
    )

with DAG(dag_id="eas_deploy_unchecked", schedule=None, start_date=START, params=PARAMS):
    EasModifyServiceOperator(  # the model-path check off: EAS's own failure and the rollback
        task_id="deploy", service_name="churn_model", model_path="{{ params.model_path }}",
        poll_interval=0.5, timeout=120, deferrable=DEFERRABLE, check_model_path=False,
    )

with DAG(dag_id="eas_deploy_crash_retry", schedule=None, start_date=START, params=PARAMS):
    CrashOnceModifyOperator(
        task_id="deploy", service_name="churn_model", model_path="{{ params.model_path }}",
        poll_interval=0.5, timeout=120, retries=1, retry_delay=timedelta(seconds=0),
    )
