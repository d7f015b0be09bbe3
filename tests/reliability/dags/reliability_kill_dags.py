"""Small DAGs for the multi-process Airflow tests: waits long enough to kill the worker mid-way,
and a deploy that fails (a model path with no objects) so a failed EAS task shows its link."""

from __future__ import annotations

from datetime import timedelta

import pendulum

from airflow.providers.common.compat.sdk import DAG
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.operators.eas import EasModifyServiceOperator

ARGS = {"retries": 1, "retry_delay": timedelta(seconds=1)}
START = pendulum.datetime(2026, 11, 1, tz="UTC")

with DAG(dag_id="reliability_kill_train", schedule=None, start_date=START, catchup=False, default_args=ARGS):
    TriggerDesignerNodeOperator(
        task_id="train", project_id=10001, node_id=700009, wait_for_completion=True, deferrable=False,
        poll_interval=2,
    )

with DAG(dag_id="reliability_kill_deploy", schedule=None, start_date=START, catchup=False, default_args=ARGS):
    EasModifyServiceOperator(
        task_id="deploy", service_name="churn_slow", model_path="oss://pai-demo/models/churn/v2/",
        deferrable=False, poll_interval=2,
    )

with DAG(dag_id="reliability_deploy_fails", schedule=None, start_date=START, catchup=False):
    EasModifyServiceOperator(
        task_id="deploy", service_name="churn_fail", model_path="oss://pai-demo/models/churn/empty/",
        deferrable=True, poll_interval=1, check_model_path=False,  # reach EAS's own failure and the rollback
    )
