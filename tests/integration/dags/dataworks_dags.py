"""DAGs for tests/integration/test_dataworks_dags.py: run a DataWorks node and wait for it, in every mode.

Node, intervals and crash simulation come from ``params``/environment so one file serves every test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pendulum

from airflow.providers.common.compat.sdk import DAG, Param
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.sensors.dataworks import WaitForInstanceSensor

START = pendulum.datetime(2026, 11, 1, tz="UTC")
# project_id/node_id: the legacy workspace by default; the tests pass the new-Data-Studio one in conf.
PARAMS = {"project_id": Param(10001, type="integer"), "node_id": Param(700001, type="integer")}


class CrashOnceOperator(TriggerDesignerNodeOperator):
    """Dies on its first try right after the run call (``DW_CRASH_AFTER=submit``) or after the
    run id was recorded (``DW_CRASH_AFTER=record``): what a killed worker leaves behind."""

    def _crash_once(self, stage: str) -> None:
        marker = Path(os.environ["DW_CRASH_MARKER"])
        if os.environ.get("DW_CRASH_AFTER") == stage and not marker.exists():
            marker.write_text(stage)
            raise RuntimeError(f"simulated worker death after {stage}")

    def _submit(self, p, name):
        run = super()._submit(p, name)
        self._crash_once("submit")
        return run

    def _resolve_instance(self, p, run):
        self._crash_once("record")
        return super()._resolve_instance(p, run)


# Trigger, then a sensor fed the trigger's whole XCom dict (native rendering).
with DAG("dataworks_trigger_then_wait", schedule=None, start_date=START, params=PARAMS,
         render_template_as_native_obj=True):
    train = TriggerDesignerNodeOperator(
        task_id="train", project_id="{{ params.project_id }}", node_id="{{ params.node_id }}", bizdate="{{ ds }}",
    )
    WaitForInstanceSensor(
        task_id="wait", instance_id="{{ ti.xcom_pull(task_ids='train') }}", poke_interval=1,
        timeout=600, mode=os.environ.get("DW_SENSOR_MODE", "poke"),
    ).set_upstream(train)

# A deferrable sensor after a trigger that does not wait.
with DAG("dataworks_sensor_deferrable", schedule=None, start_date=START, params=PARAMS):
    train = TriggerDesignerNodeOperator(
        task_id="train", project_id="{{ params.project_id }}", node_id="{{ params.node_id }}",
    )
    WaitForInstanceSensor(
        task_id="wait", instance_id="{{ ti.xcom_pull(task_ids='train')['instance_id'] }}",
        poke_interval=1, timeout=600, deferrable=True, stream_log=os.environ.get("DW_STREAM_LOG", "1") == "1",
    ).set_upstream(train)

# The operator itself waits, deferred to the triggerer.
with DAG("dataworks_operator_deferrable", schedule=None, start_date=START, params=PARAMS):
    TriggerDesignerNodeOperator(
        task_id="train", project_id="{{ params.project_id }}", node_id="{{ params.node_id }}", wait_for_completion=True,
        deferrable=True, poll_interval=1,
    )

# The operator waits in the worker; retries reattach to the run it started.
with DAG("dataworks_wait_in_worker", schedule=None, start_date=START, params=PARAMS):
    CrashOnceOperator(
        task_id="train", project_id="{{ params.project_id }}", node_id="{{ params.node_id }}", wait_for_completion=True,
        poll_interval=float(os.environ.get("DW_POLL_INTERVAL", "1")), retries=1,
        retry_delay=pendulum.duration(seconds=1),
    )

# The operator waits in the worker, no retries: for the kill test.
with DAG("dataworks_wait_no_retry", schedule=None, start_date=START, params=PARAMS):
    TriggerDesignerNodeOperator(
        task_id="train", project_id="{{ params.project_id }}", node_id="{{ params.node_id }}", wait_for_completion=True,
        poll_interval=5,
    )

# A tighter log cadence (log_interval), waiting in the worker or deferred (DW_DEFERRABLE=1).
with DAG("dataworks_log_cadence", schedule=None, start_date=START, params=PARAMS):
    TriggerDesignerNodeOperator(
        task_id="train", project_id="{{ params.project_id }}", node_id="{{ params.node_id }}", wait_for_completion=True,
        poll_interval=30, log_interval=5, deferrable=os.environ.get("DW_DEFERRABLE") == "1",
    )
