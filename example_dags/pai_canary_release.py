"""Train, export, put the new model on 10% of the traffic, test it there, then promote it or take it back.

A canary release on PAI-EAS service groups (docs/operators/canary.md): the production service
``churn_model`` is in group ``churn``; ``start_canary`` deploys the candidate to the service
``churn_model_canary`` in the same group and gives it 10% of the group endpoint's traffic;
``test_canary`` checks the candidate on the canary's own endpoint; ``promote`` rolls production
onto the candidate and gives it all the traffic back, or ``abort`` takes the canary out of the
traffic if anything before it failed. The defaults match the emulator's demo scenario; a bad
candidate: ``airflow dags test pai_canary_release -c '{"node_id": 700002, "output_prefix":
"oss://pai-demo/designer/churn_broken/"}'``.
"""

from __future__ import annotations

import pendulum

from airflow.providers.common.compat.sdk import DAG, Param, task
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.operators.eas_canary import (
    EasCanaryAbortOperator,
    EasCanaryPromoteOperator,
    EasCanaryStartOperator,
)
from airflow_provider_pai.operators.oss import ExportModelToOSSOperator
from airflow_provider_pai.sensors.dataworks import WaitForInstanceSensor

MODEL = "{{ ti.xcom_pull(task_ids='export_model') }}"

with DAG(
    dag_id="pai_canary_release",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,  # one canary per service group at a time
    params={
        "project_id": Param(10001, type="integer"),
        "node_id": Param(700001, type="integer", description="The PAI Designer node to run"),
        "output_prefix": Param("oss://pai-demo/designer/churn/", type="string"),
        "release_prefix": Param("oss://pai-demo/models/churn/", type="string"),
        "service_name": Param("churn_model", type="string", description="The production service (in a group)"),
        "canary_service_name": Param("churn_model_canary", type="string"),
        "canary_weight": Param(10, type="integer", minimum=0, maximum=100, description="Canary share, percent"),
    },
    tags=["pai", "example", "canary"],
) as dag:
    train = TriggerDesignerNodeOperator(
        task_id="train", project_id="{{ params.project_id }}", node_id="{{ params.node_id }}", bizdate="{{ ds }}"
    )
    wait_for_training = WaitForInstanceSensor(
        task_id="wait_for_training",
        instance_id="{{ ti.xcom_pull(task_ids='train')['instance_id'] }}",
        poke_interval=5,
        deferrable=True,
    )
    export_model = ExportModelToOSSOperator(
        task_id="export_model",
        source="{{ params.output_prefix }}{{ ds_nodash }}/model/",
        destination="{{ params.release_prefix }}{{ ds_nodash }}/",
    )

    # --8<-- [start:howto_canary]
    start_canary = EasCanaryStartOperator(
        task_id="start_canary",
        service_name="{{ params.service_name }}",
        canary_service_name="{{ params.canary_service_name }}",
        model_path=MODEL,
        weight="{{ params.canary_weight }}",
        canary_config={"metadata": {"instance": 1}},  # a small canary
        poll_interval=2,
        deferrable=True,
    )

    @task
    def test_canary(started: dict) -> dict:
        """The candidate, on the canary's own endpoint, must tell a churner from a loyal customer."""
        customers = [
            {"tenure": 2, "monthly_charges": 95.0, "contract": "month-to-month"},  # churns
            {"tenure": 60, "monthly_charges": 25.0, "contract": "two_year"},  # stays
        ]
        # Imported here, not at the top: a DAG file's imports run at every parse, this only when the task runs.
        from airflow_provider_pai.hooks.eas import EasHook

        answer = EasHook().predict(started["canary_service_name"], customers)
        churner, loyal = (row["probability(1)"] for row in answer)
        if not churner > 0.5 > loyal:
            raise ValueError(f"candidate {started['model_path']} cannot tell a churner from a loyal customer: {answer}")
        return {"churn_probabilities": [churner, loyal]}

    tested = test_canary(start_canary.output)

    promote = EasCanaryPromoteOperator(
        task_id="promote",
        service_name="{{ params.service_name }}",
        canary_service_name="{{ params.canary_service_name }}",
        model_path=MODEL,  # promote only the model this run tested
        start_task_id="start_canary",  # puts back a TrafficMode the start switched (switch_traffic_mode)
        poll_interval=2,
    )
    abort = EasCanaryAbortOperator(
        task_id="abort",
        service_name="{{ params.service_name }}",
        canary_service_name="{{ params.canary_service_name }}",
        model_path=MODEL,
        start_task_id="start_canary",
        trigger_rule="one_failed",  # the canary failed to start or failed its test
        poll_interval=2,
    )
    # --8<-- [end:howto_canary]

    @task(trigger_rule="all_done")
    def report(**context) -> str:
        """Fails the run when the candidate was rejected, so the run's colour tells the story."""
        ti = context["ti"]
        promoted, aborted = ti.xcom_pull(task_ids="promote"), ti.xcom_pull(task_ids="abort")
        if promoted:
            return f"promoted {promoted['model_path']}: {promoted['service_name']} version {promoted['version']}"
        raise RuntimeError(f"the candidate {ti.xcom_pull(task_ids='export_model')} was rejected; "
                           f"traffic after the abort: {(aborted or {}).get('traffic')}")

    train >> wait_for_training >> export_model >> start_canary >> tested >> promote
    [start_canary, tested] >> abort
    [promote, abort] >> report()
