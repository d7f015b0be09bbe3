"""Mapped variants of every operator and sensor, next to mapped and unmapped neighbours.

``usage_mapped_eas``: deploy -> rollback mapped the same way, mapped deploy -> one unmapped
rollback, and a mapped task group deploy -> user test (EasHook.predict) -> rollback on failure.
``usage_mapped_flow``: train -> wait -> export -> deploy -> EAS sensor -> rollback, each mapped
(over its main arguments, by ``expand`` and ``expand_kwargs``), fed by XComArgs and templates.
"""

from __future__ import annotations

import pendulum

from airflow.providers.common.compat.sdk import DAG, task, task_group
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.operators.eas import (
    EasCreateServiceOperator,
    EasModifyServiceOperator,
    EasRollbackOperator,
)
from airflow_provider_pai.operators.oss import ExportModelToOSSOperator
from airflow_provider_pai.sensors.dataworks import WaitForInstanceSensor
from airflow_provider_pai.sensors.eas import EasServiceSensor

START = pendulum.datetime(2026, 11, 1, tz="UTC")
NEW = "oss://pai-demo/models/churn/v2/"
BROKEN = "oss://pai-demo/models/churn/broken/"
EAS = {"poll_interval": 1, "timeout": 120, "deferrable": False}

with DAG(dag_id="usage_mapped_eas", schedule=None, start_date=START, catchup=False):
    # Mapped deploy -> rollback mapped the same way: each index undoes exactly its own deploy.
    deploy_pair = EasModifyServiceOperator.partial(task_id="deploy_pair", model_path=NEW, **EAS).expand(
        service_name=["svc_a", "svc_b"]
    )
    rollback_pair = EasRollbackOperator.partial(task_id="rollback_pair", deploy_task_id="deploy_pair", **EAS).expand(
        service_name=["svc_a", "svc_b"]
    )
    deploy_pair >> rollback_pair

    # Mapped deploy -> one unmapped rollback (no service_name): every service the deploy changed.
    deploy_all = EasModifyServiceOperator.partial(task_id="deploy_all", **EAS).expand_kwargs(
        [{"service_name": "svc_c", "model_path": NEW}, {"service_name": "svc_d", "service_config": {"model_path": NEW}}]
    )
    rollback_all = EasRollbackOperator(task_id="rollback_all", deploy_task_id="deploy_all", **EAS)
    deploy_all >> rollback_all

    # A mapped task group as a user writes it: deploy, test with EasHook.predict, roll back on failure.
    @task_group(group_id="release")
    def release(service_name, model_path):
        deploy = EasModifyServiceOperator(
            task_id="deploy", service_name=service_name, model_path=model_path, rollback_on_failure=False, **EAS
        )

        @task
        def check(record: dict) -> dict:
            from airflow_provider_pai.hooks.eas import EasHook

            answer = EasHook().predict(record["service_name"], {"instances": [[1.0, 2.0]]})
            assert answer["version"] == record["version"], (answer, record)
            return answer

        checked = check(deploy.output)
        rollback = EasRollbackOperator(
            task_id="rollback", service_name=service_name, deploy_task_id="release.deploy",
            trigger_rule="one_failed", **EAS,
        )
        checked >> rollback

    release.expand_kwargs([{"service_name": "svc_e", "model_path": NEW},
                           {"service_name": "svc_f", "model_path": BROKEN}])


with DAG(dag_id="usage_mapped_flow", schedule=None, start_date=START, catchup=False):
    # Two runs of one node for one date (one per map index), over node_id, node_params and project_id.
    train = TriggerDesignerNodeOperator.partial(task_id="train", poll_interval=1).expand_kwargs(
        [{"project_id": 10001, "node_id": 700001},
         {"project_id": "10001", "node_id": "700001", "node_params": {"alpha": "0.2"}}]
    )
    # The XComArg way and the template way of feeding a mapped sensor from a mapped trigger.
    wait = WaitForInstanceSensor.partial(task_id="wait", poke_interval=1, timeout=120).expand(
        instance_id=train.output
    )
    wait_tpl = WaitForInstanceSensor.partial(
        task_id="wait_tpl", poke_interval=1, timeout=120,
        instance_id="{{ ti.xcom_pull(task_ids='train', map_indexes=ti.map_index) }}",
    ).expand(project_env=["PROD", "PROD"])
    train >> [wait, wait_tpl]

    export = ExportModelToOSSOperator.partial(
        task_id="export", source="oss://pai-demo/designer/churn/{{ ds_nodash }}/model/"
    ).expand(destination=["oss://pai-demo/release/{{ ds_nodash }}/g/", "oss://pai-demo/release/{{ ds_nodash }}/h/"])
    export_kw = ExportModelToOSSOperator.partial(task_id="export_kw").expand_kwargs(
        [{"source": "oss://pai-demo/designer/churn/{{ ds_nodash }}/model/model.json",
          "destination": "oss://pai-demo/release/{{ ds_nodash }}/kw1/"},
         {"source": "oss://pai-demo/designer/churn/{{ ds_nodash }}/model/", "include": ["*.json"],
          "destination": "oss://pai-demo/release/{{ ds_nodash }}/kw2/"}]
    )
    wait >> [export, export_kw]

    deploy = EasModifyServiceOperator.partial(
        task_id="deploy", model_path="{{ ti.xcom_pull(task_ids='export', map_indexes=ti.map_index) }}", **EAS
    ).expand(service_name=["svc_g", "svc_h"])
    export >> deploy

    ready = EasServiceSensor.partial(task_id="ready", poke_interval=1, timeout=60).expand_kwargs(
        [{"service_name": "svc_g", "version": 2}, {"service_name": "svc_h", "target_status": "Running"}]
    )
    create = EasCreateServiceOperator.partial(task_id="create", **EAS).expand(
        service_config=[{"name": "new_one", "model_path": NEW, "processor": "json_linear"},
                        {"name": "new_two", "model_path": NEW, "processor": "json_linear"}]
    )
    back = EasRollbackOperator.partial(task_id="back", **EAS).expand_kwargs(
        [{"service_name": "svc_g", "version": 1}, {"service_name": "svc_h", "version": "1"}]
    )
    deploy >> ready >> [create, back]
