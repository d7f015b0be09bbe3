"""DAGs of the distributed scenarios (besides the example DAG and the reliability kill DAGs).

``distributed_slow_training``: start a node's run, wait for it in the triggerer (the node trains
for an hour, so a triggerer can be killed mid-wait). ``distributed_waits``: one task per DataWorks
instance listed in ``waits.json`` beside this file, each started directly in the triggerer
(``start_from_trigger``: no worker slot until the wait ends) with the provider's own trigger.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pendulum

from airflow.providers.common.compat.sdk import DAG, BaseOperator, Param
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.sensors.dataworks import WaitForInstanceSensor

from airflow.triggers.base import StartTriggerArgs

START = pendulum.datetime(2026, 11, 1, tz="UTC")
TRIGGER = "airflow_provider_pai.triggers.dataworks.DataWorksInstanceTrigger"

with DAG(dag_id="distributed_slow_training", schedule=None, start_date=START, catchup=False, max_active_runs=32,
         params={"node_id": Param(720000, type="integer")}):
    train = TriggerDesignerNodeOperator(task_id="train", project_id=10001, node_id="{{ params.node_id }}",
                                        bizdate="{{ ds }}")
    wait = WaitForInstanceSensor(task_id="wait_for_training",
                                 instance_id="{{ ti.xcom_pull(task_ids='train')['instance_id'] }}",
                                 poke_interval=2, timeout=3 * 3600, deferrable=True)
    train >> wait


class WaitInTriggerer(BaseOperator):
    """Wait for one DataWorks instance without ever taking a worker slot before the wait ends."""

    start_from_trigger = True

    def __init__(self, *, instance_id: int, **kwargs):
        super().__init__(**kwargs)
        self.instance_id = instance_id
        self.start_trigger_args = StartTriggerArgs(
            trigger_cls=TRIGGER, next_method="execute_complete", next_kwargs=None, timeout=timedelta(hours=3),
            # cancel_on_kill off: ending the run early must not stop the instances it waited for.
            trigger_kwargs={"instance_id": instance_id, "cancel_on_kill": False},
        )

    def execute(self, context):  # never called: the task starts in the triggerer
        raise RuntimeError("start_from_trigger task ran on a worker")

    def execute_complete(self, context, event=None):
        if (event or {}).get("status") != "success":
            raise RuntimeError(f"instance {self.instance_id} ended {event!r}")
        return event["instance_status"]


_waits = Path(__file__).with_name("waits.json")
if _waits.exists():
    with DAG(dag_id="distributed_waits", schedule=None, start_date=START, catchup=False, max_active_tasks=64):
        for _iid in json.loads(_waits.read_text()):
            WaitInTriggerer(task_id=f"wait_{_iid}", instance_id=_iid)
