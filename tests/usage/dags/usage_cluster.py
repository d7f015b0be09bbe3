"""DAGs for the multi-process Airflow rows of docs/timeouts-kills-retries.md: user stops, signals,
a triggerer restart, clears and several logical dates. Nodes 700011 and 700013 (the triggerer
restart's own, without history) train for an hour (the tests end them with the emulator clock);
node 700010 for 12 s."""

from __future__ import annotations

from datetime import timedelta

import pendulum

from airflow.providers.common.compat.sdk import DAG
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.sensors.dataworks import WaitForInstanceSensor

START = pendulum.datetime(2026, 11, 1, tz="UTC")
RETRY = {"retries": 1, "retry_delay": timedelta(seconds=1)}

for deferrable in (False, True):
    suffix = "deferred" if deferrable else "blocking"
    with DAG(dag_id=f"usage_stop_{suffix}", schedule=None, start_date=START, catchup=False, default_args=RETRY):
        TriggerDesignerNodeOperator(task_id="train", project_id=10001, node_id=700011, wait_for_completion=True,
                                    deferrable=deferrable, poll_interval=2)

with DAG(dag_id="usage_triggerer_restart", schedule=None, start_date=START, catchup=False, default_args=RETRY):
    TriggerDesignerNodeOperator(task_id="train", project_id=10001, node_id=700013, wait_for_completion=True,
                                deferrable=True, poll_interval=2)

with DAG(dag_id="usage_exec_timeout_deferred", schedule=None, start_date=START, catchup=False, default_args=RETRY):
    # Airflow 3.3 does not apply execution_timeout to a deferred task: the provider does.
    TriggerDesignerNodeOperator(task_id="train", project_id=10001, node_id=700011, wait_for_completion=True,
                                deferrable=True, poll_interval=2, execution_timeout=timedelta(seconds=20),
                                retries=0)

with DAG(dag_id="usage_mapped_dates", schedule=None, start_date=START, catchup=False, max_active_runs=2):
    # 12 s runs: a trigger that fires within seconds of deferring hits apache/airflow#72716 (docs/reliability.md).
    train = TriggerDesignerNodeOperator.partial(task_id="train", project_id=10001, node_id=700010).expand(
        node_params=[{"alpha": "0.1"}, {"alpha": "0.2"}]
    )
    WaitForInstanceSensor.partial(task_id="wait", poke_interval=2, timeout=300, deferrable=True).expand(
        instance_id=train.output
    )
