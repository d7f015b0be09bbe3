"""Train a churn model in PAI Designer, export it to OSS, deploy it on PAI-EAS, test it, roll back on failure.

The Airflow retelling of two Alibaba Cloud guides: "Schedule a PAI Designer pipeline with
DataWorks" (train, export the model to OSS) and "scheduled model deployment with EAS"
(`eascmd modify`, a hand-written test, `eascmd version -f <service> 1` to roll back).
The defaults in ``params`` match the emulator's demo scenario; override them per run with
``airflow dags test pai_train_deploy -c '{"node_id": 700002}'`` or in the trigger form
(``log_interval``: watch the training's log with lines at most that many seconds late).
The same DAG runs on a workspace on the new Data Studio (DataWorks OpenAPI 2024-05-18, picked by
the connection's ``dataworks_api_version=auto``): ``-c '{"project_id": 20001, "node_id": 900001,
"output_prefix": "oss://pai-demo/designer/churn_studio/"}'`` in the emulator.

Concurrent runs without editing this file (docs/operators/eas.md, "Concurrent runs"): give each run
its own ``service_name`` (and node) in ``params``, and set, in the environment of the scheduler and
the DAG processor (read when Airflow parses this file), ``PAI_EXAMPLE_MAX_ACTIVE_RUNS`` (default 1:
one deploy at a time, right while every run updates the same service) and ``PAI_EXAMPLE_RETRIES``
(default: Airflow's ``[core] default_task_retries``).
"""

from __future__ import annotations

import os

import pendulum

from airflow.providers.common.compat.sdk import DAG, Param, task
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.operators.eas import EasModifyServiceOperator, EasRollbackOperator
from airflow_provider_pai.operators.oss import ExportModelToOSSOperator
from airflow_provider_pai.sensors.dataworks import WaitForInstanceSensor

with DAG(
    dag_id="pai_train_deploy",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,  # one deploy at a time per service: see docs/operators/eas.md
    default_args={"retries": int(os.environ["PAI_EXAMPLE_RETRIES"])} if os.environ.get("PAI_EXAMPLE_RETRIES") else {},
    params={
        "project_id": Param(10001, type="integer", description="DataWorks workspace (project) id"),
        "node_id": Param(700001, type="integer", description="The PAI Designer node to run"),
        "output_prefix": Param(
            "oss://pai-demo/designer/churn/",
            type="string",
            description="Where the Designer pipeline's Model Export writes, before <bizdate>/model/",
        ),
        "release_prefix": Param("oss://pai-demo/models/churn/", type="string"),
        "service_name": Param("churn_model", type="string", description="The PAI-EAS service to update"),
        "log_interval": Param(
            None,
            type=["null", "integer"],
            minimum=5,
            description="Seconds: copy the training's DataWorks log into wait_for_training's log at least "
            "this often while it runs (a status and a log call each time). Empty: max(60 s, two polls)",
        ),
    },
    tags=["pai", "example"],
) as dag:
    # --8<-- [start:howto_train]
    train = TriggerDesignerNodeOperator(
        task_id="train",
        project_id="{{ params.project_id }}",
        node_id="{{ params.node_id }}",
        bizdate="{{ ds }}",
        lineage_outputs="{{ params.output_prefix }}{{ ds_nodash }}/model/",  # where its Model Export writes
    )
    wait_for_training = WaitForInstanceSensor(
        task_id="wait_for_training",
        instance_id="{{ ti.xcom_pull(task_ids='train')['instance_id'] }}",
        poke_interval=5,
        timeout=3 * 3600,
        log_interval="{{ params.log_interval }}",  # a tighter log cadence for runs someone watches
        deferrable=True,
    )
    # --8<-- [end:howto_train]

    # --8<-- [start:howto_export]
    export_model = ExportModelToOSSOperator(
        task_id="export_model",
        source="{{ params.output_prefix }}{{ ds_nodash }}/model/",
        destination="{{ params.release_prefix }}{{ ds_nodash }}/",
    )
    # --8<-- [end:howto_export]

    # --8<-- [start:howto_deploy]
    deploy = EasModifyServiceOperator(
        task_id="deploy",
        service_name="{{ params.service_name }}",
        model_path="{{ ti.xcom_pull(task_ids='export_model') }}",
        poll_interval=2,
        deferrable=True,
    )
    # --8<-- [end:howto_deploy]

    # --8<-- [start:howto_test]
    @task
    def test_service(deployed: dict) -> dict:
        """Any test of your own: here, the model must tell a likely churner from a loyal customer.

        The PMML processor takes a JSON array of records keyed by the model's input fields and
        answers one object per record (the target and the model's output fields).
        """
        customers = [
            {"tenure": 2, "monthly_charges": 95.0, "contract": "month-to-month"},  # churns
            {"tenure": 60, "monthly_charges": 25.0, "contract": "two_year"},  # stays
        ]
        # Imported here, not at the top: a DAG file's imports run at every parse, this only when the task runs.
        from airflow_provider_pai.hooks.eas import EasHook

        answer = EasHook().predict(deployed["service_name"], customers)
        churner, loyal = (row["probability(1)"] for row in answer)
        if not churner > 0.5 > loyal:
            raise ValueError(f"{deployed['service_name']} cannot tell a churner from a loyal customer: {answer}")
        return {"churn_probabilities": [churner, loyal], "version": deployed.get("version")}

    tested = test_service(deploy.output)
    # --8<-- [end:howto_test]

    # --8<-- [start:howto_rollback]
    rollback = EasRollbackOperator(
        task_id="rollback",
        service_name="{{ params.service_name }}",
        deploy_task_id="deploy",
        trigger_rule="one_failed",
        poll_interval=2,
        deferrable=True,
    )
    # --8<-- [end:howto_rollback]

    @task(trigger_rule="all_done")
    def report(**context) -> str:
        """A non-Alibaba step: say what happened (a chat message or an e-mail in real life).

        It fails the run unless the new model is serving and passed its test, so the run's colour
        tells the story. Each step's result comes from its XCom: a step that failed or never ran has none.
        """
        ti = context["ti"]
        service = context["params"]["service_name"]
        trained = ti.xcom_pull(task_ids="wait_for_training")
        exported = ti.xcom_pull(task_ids="export_model")
        deployed = ti.xcom_pull(task_ids="deploy") or {}
        tested_result = ti.xcom_pull(task_ids="test_service")
        rolled_back = ti.xcom_pull(task_ids="rollback")
        if not ti.xcom_pull(task_ids="train"):  # the run was never started: name the task that failed
            lines = ["the training could not be started (see train)",
                     f"no model was exported and nothing was deployed: service {service} is unchanged"]
        elif not trained:
            lines = ["training failed (see wait_for_training)",
                     f"no model was exported and nothing was deployed: service {service} is unchanged"]
        elif not exported:
            lines = [f"training succeeded (DataWorks instance {trained.get('instance_id')})",
                     "the model export failed (see export_model)",
                     f"nothing was deployed: service {service} is unchanged"]
        elif not deployed:
            lines = [f"model exported to {exported}",
                     f"the deployment to service {service} failed (see deploy)"]
        else:
            lines = [
                f"model exported to {exported}",
                f"service {deployed.get('service_name')}: version {deployed.get('previous_version')} -> "
                f"{deployed.get('version')}",
                f"test: passed {tested_result}" if tested_result else "test: FAILED (see test_service)",
            ]
        if rolled_back:
            lines.append(f"rolled back to version {rolled_back.get('version')}")
        elif deployed and not tested_result:
            lines.append("NOT rolled back (see rollback): the candidate version may still be serving")
        summary = "\n".join(lines)
        print(summary)
        if not tested_result:
            raise RuntimeError("no new model is serving:\n" + summary)
        return summary

    train >> wait_for_training >> export_model >> deploy >> tested >> rollback
    [tested, rollback] >> report()

if os.environ.get("PAI_EXAMPLE_MAX_ACTIVE_RUNS"):  # concurrent runs, each on its own service_name
    dag.max_active_runs = int(os.environ["PAI_EXAMPLE_MAX_ACTIVE_RUNS"])
