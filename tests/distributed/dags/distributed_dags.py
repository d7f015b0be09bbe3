"""DAGs of the distributed scenarios (besides the example DAG and the reliability kill DAGs).

``distributed_slow_training``: start a node's run, wait for it in the triggerer (the node trains
for an hour, so a triggerer can be killed mid-wait). ``distributed_waits_NN``: one task per DataWorks
instance listed in ``waits.json`` beside this file (10 per DAG), each started directly in the triggerer
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


# Small DAGs: with start_from_trigger the triggerer hands each trigger its whole serialized DAG
# (to render templates), so one 1,000-task DAG costs it O(n^2) (seen: triggerer loop blocked for
# over a minute), and with 50-task DAGs a burst of 200 such workloads left a triggerer and its
# runner both blocked writing to each other (Airflow 3.3.2). 10 tasks per DAG, runs paced.
WAITS_PER_DAG = 10
_waits = Path(__file__).with_name("waits.json")
if _waits.exists():
    _ids = json.loads(_waits.read_text())
    for _n in range(0, len(_ids), WAITS_PER_DAG):
        with DAG(dag_id=f"distributed_waits_{_n // WAITS_PER_DAG:02d}", schedule=None, start_date=START,
                 catchup=False, tags=["distributed_waits"]):
            for _k, _iid in enumerate(_ids[_n:_n + WAITS_PER_DAG], start=_n):
                WaitInTriggerer(task_id=f"wait_{_k:04d}", instance_id=_iid)
