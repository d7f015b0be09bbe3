"""Timeouts and retries of every waiting task (docs/timeouts-kills-retries.md), blocking or deferred
(``USAGE_DEFERRABLE=1``). The emulator's runs: node 700010 trains 12 s, 700012 27 s, 700011 an
hour; service svc_t1 rolls out in 25 s, svc_t2 and svc_t3 in 12 s."""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum

from airflow.providers.common.compat.sdk import DAG
from airflow_provider_pai.version_compat import AIRFLOW_V_3_0_PLUS
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.operators.eas import EasModifyServiceOperator
from airflow_provider_pai.sensors.dataworks import WaitForInstanceSensor
from airflow_provider_pai.sensors.eas import EasServiceSensor

START = pendulum.datetime(2026, 11, 1, tz="UTC")
DEFERRABLE = os.environ.get("USAGE_DEFERRABLE") == "1"
RETRY = {"retries": 1, "retry_delay": timedelta(seconds=1)}
# Airflow 2.11's `airflow dags test` aborts when a task in the worker hits execution_timeout
# (AirflowTaskTimeout is a BaseException there): those tasks only run where the test can see them.
EXEC_TIMEOUTS = AIRFLOW_V_3_0_PLUS or DEFERRABLE
TRAIN = {"project_id": 10001, "wait_for_completion": True, "poll_interval": 1, "deferrable": DEFERRABLE}
# Each mode deploys another model, so the second run of the DAG changes the services again.
MODEL = "oss://pai-demo/models/churn/other/" if DEFERRABLE else "oss://pai-demo/models/churn/v2/"
EAS = {"poll_interval": 1, "deferrable": DEFERRABLE, "model_path": MODEL}

with DAG(dag_id="usage_timeouts_dw", schedule=None, start_date=START, catchup=False, max_active_tasks=1):
    chain = []
    if EXEC_TIMEOUTS:
        # execution_timeout with a retry left: the run goes on, the retry reattaches and sees it end.
        chain.append(TriggerDesignerNodeOperator(task_id="exec_retry", node_id=700012,
                                                 execution_timeout=timedelta(seconds=25), **TRAIN, **RETRY))
        # execution_timeout of the last try: the run is stopped (cancel_on_kill), unless cancel_on_kill=False.
        chain.append(TriggerDesignerNodeOperator(task_id="exec_last", node_id=700011,
                                                 execution_timeout=timedelta(seconds=5), **TRAIN))
        chain.append(TriggerDesignerNodeOperator(task_id="exec_keep", node_id=700011, cancel_on_kill=False,
                                                 execution_timeout=timedelta(seconds=5), **TRAIN))
    # The operator's own wait timeout: retried like any failure, reattaching; or a hard stop if asked.
    chain.append(TriggerDesignerNodeOperator(task_id="wait_retry", node_id=700010, timeout=9, **TRAIN, **RETRY))
    chain.append(TriggerDesignerNodeOperator(task_id="wait_hard", node_id=700011, timeout=4, retry_on_timeout=False,
                                             **TRAIN, retries=2, retry_delay=timedelta(seconds=1)))
    if EXEC_TIMEOUTS:
        # A sensor's execution_timeout with a retry left reattaches.
        start_27s = TriggerDesignerNodeOperator(task_id="start_27s", project_id=10001, node_id=700012)
        chain += [start_27s, WaitForInstanceSensor(
            task_id="sensor_exec", instance_id=start_27s.output, poke_interval=1, timeout=120,
            execution_timeout=timedelta(seconds=25), deferrable=DEFERRABLE, **RETRY,
        )]
    # The sensor timeout is final and, with cancel_on_kill, stops the run it was watching.
    start_long = TriggerDesignerNodeOperator(task_id="start_long", project_id=10001, node_id=700011)
    chain += [start_long, WaitForInstanceSensor(task_id="sensor_timeout", instance_id=start_long.output,
                                                poke_interval=1, timeout=4, deferrable=DEFERRABLE, **RETRY)]
    for upstream, downstream in zip(chain, chain[1:]):
        upstream >> downstream
        downstream.trigger_rule = "all_done"  # each scenario runs whatever the one before it did

with DAG(dag_id="usage_timeouts_eas", schedule=None, start_date=START, catchup=False, max_active_tasks=1):
    chain = []
    if EXEC_TIMEOUTS:
        # A deploy killed by execution_timeout with a retry left: the retry reattaches, no second version.
        chain.append(EasModifyServiceOperator(task_id="deploy_exec_retry", service_name="svc_t1",
                                              execution_timeout=timedelta(seconds=25), **EAS, **RETRY))
        # The last try times out: the deploy is undone (rollback_on_failure), one version added in all.
        chain.append(EasModifyServiceOperator(task_id="deploy_exec_last", service_name="svc_t2",
                                              execution_timeout=timedelta(seconds=4), **EAS))
    # The wait timeout with a retry left: retried, reattaching (no rollback between the tries).
    chain.append(EasModifyServiceOperator(task_id="deploy_wait_retry", service_name="svc_t3", timeout=9,
                                          **EAS, **RETRY))
    # An EAS sensor timeout is final (Airflow's sensor rule): one try.
    chain.append(EasServiceSensor(task_id="eas_sensor_timeout", service_name="churn_model", version=99,
                                  poke_interval=1, timeout=3, deferrable=DEFERRABLE, **RETRY))
    for upstream, downstream in zip(chain, chain[1:]):
        upstream >> downstream
        downstream.trigger_rule = "all_done"
