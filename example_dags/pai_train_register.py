"""Register every trained model in PAI's model registry, test it, then approve or reject it there.

The registry twin of ``pai_train_accept``: the export is registered as a new version of model
``churn`` in AI Workspace ``86001`` (Pending, with the EAS processor it deploys with, the DataWorks
run and this Airflow run as labels), tested on a staging service, and then set Approved by
``accept`` (which also emits the "model ready" asset naming the model id and version) or Rejected
by ``reject``. ``pai_deploy_approved`` deploys the latest Approved version. Defaults match the
emulator's demo scenario; a model that fails its test: ``-c '{"node_id": 700002, "output_prefix":
"oss://pai-demo/designer/churn_broken/"}'``.
"""

from __future__ import annotations

import pendulum

from airflow.providers.common.compat.sdk import DAG, Asset, Param, task
from airflow_provider_pai.operators.accept import AcceptModelOperator
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.operators.eas import EasCreateServiceOperator, EasModifyServiceOperator
from airflow_provider_pai.operators.oss import ExportModelToOSSOperator
from airflow_provider_pai.operators.registry import PaiRegisterModelVersionOperator, PaiSetModelApprovalOperator
from airflow_provider_pai.sensors.dataworks import WaitForInstanceSensor

APPROVED_MODEL = Asset("oss://pai-demo/models/churn/approved/")  # "a version was approved"
STAGING = {"name": "churn_model_staging", "generate_token": "true", "processor": "pmml",
           "model_path": "oss://pai-demo/models/churn/initial/", "metadata": {"instance": 1}}

with DAG(
    dag_id="pai_train_register",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    params={
        "project_id": Param(10001, type="integer"),
        "node_id": Param(700001, type="integer"),
        "output_prefix": Param("oss://pai-demo/designer/churn/", type="string"),
        "release_prefix": Param("oss://pai-demo/models/churn/", type="string"),
        "workspace_id": Param("86001", type="string"),
        "model_name": Param("churn", type="string"),
    },
    tags=["pai", "example", "registry"],
) as dag:
    train = TriggerDesignerNodeOperator(
        task_id="train", project_id="{{ params.project_id }}", node_id="{{ params.node_id }}", bizdate="{{ ds }}"
    )
    wait_for_training = WaitForInstanceSensor(
        task_id="wait_for_training", instance_id="{{ ti.xcom_pull(task_ids='train')['instance_id'] }}",
        poke_interval=5, deferrable=True,
    )
    export_model = ExportModelToOSSOperator(
        task_id="export_model",
        source="{{ params.output_prefix }}{{ ds_nodash }}/model/",
        destination="{{ params.release_prefix }}{{ ds_nodash }}/",
    )
    # --8<-- [start:howto_register]
    register = PaiRegisterModelVersionOperator(
        task_id="register",
        workspace_id="{{ params.workspace_id }}",
        model_name="{{ params.model_name }}",
        model_uri="{{ ti.xcom_pull(task_ids='export_model') }}",
        inference_spec={"processor": "pmml"},  # what pai_deploy_approved deploys it with
        dataworks_instance_id="{{ ti.xcom_pull(task_ids='train')['instance_id'] }}",
        create_model_if_missing=True,
        format_type="PMML",
    )
    # --8<-- [end:howto_register]
    staging = EasCreateServiceOperator(task_id="staging_service", service_config=STAGING, if_exists="skip",
                                       poll_interval=2)
    stage = EasModifyServiceOperator(task_id="stage", service_name=STAGING["name"],
                                     model_path="{{ ti.xcom_pull(task_ids='export_model') }}", poll_interval=2)

    @task
    def test_model(staged: dict) -> dict:
        """The candidate, on staging, must tell a likely churner from a loyal customer."""
        customers = [{"tenure": 2, "monthly_charges": 95.0, "contract": "month-to-month"},
                     {"tenure": 60, "monthly_charges": 25.0, "contract": "two_year"}]
        # Imported here, not at the top: a DAG file's imports run at every parse, this only when the task runs.
        from airflow_provider_pai.hooks.eas import EasHook

        answer = EasHook().predict(staged["service_name"], customers)
        churner, loyal = (row["probability(1)"] for row in answer)
        if not churner > 0.5 > loyal:
            raise ValueError(f"{staged['model_path']} cannot tell a churner from a loyal customer: {answer}")
        return {"churn_probabilities": [churner, loyal]}

    tested = test_model(stage.output)

    # --8<-- [start:howto_approve_reject]
    accept = AcceptModelOperator(  # Approved in the registry, then "model ready"
        task_id="accept",
        model_uri="{{ ti.xcom_pull(task_ids='export_model') }}",
        model_version="{{ ti.xcom_pull(task_ids='register') }}",
        asset=APPROVED_MODEL,
        evidence="{{ ti.xcom_pull(task_ids='test_model') }}",
    )
    reject = PaiSetModelApprovalOperator(  # Rejected in the registry when the test failed
        task_id="reject",
        model_version="{{ ti.xcom_pull(task_ids='register') }}",
        approval_status="Rejected",
        trigger_rule="one_failed",
    )
    # --8<-- [end:howto_approve_reject]

    train >> wait_for_training >> export_model >> register >> staging >> stage >> tested >> [accept, reject]
