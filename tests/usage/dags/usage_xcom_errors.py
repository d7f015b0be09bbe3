"""XCom read by one operator from another that is missing, ambiguous or of the wrong shape: each
must fail its task with a message naming the task and what was found, never skip or succeed."""

from __future__ import annotations

import pendulum

from airflow.providers.common.compat.sdk import DAG, task
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.operators.eas import EasModifyServiceOperator, EasRollbackOperator
from airflow_provider_pai.sensors.dataworks import WaitForInstanceSensor

START = pendulum.datetime(2026, 11, 1, tz="UTC")
NEW = "oss://pai-demo/models/churn/v2/"
EAS = {"poll_interval": 1, "timeout": 60, "deferrable": False}

with DAG(dag_id="usage_xcom_errors", schedule=None, start_date=START, catchup=False):
    deploy_x = EasModifyServiceOperator.partial(task_id="deploy_x", model_path=NEW, **EAS).expand(
        service_name=["svc_j", "svc_k"]
    )
    # Mapped the other way round: index 0 would roll svc_k back with svc_j's record.
    rollback_swapped = EasRollbackOperator.partial(task_id="rollback_swapped", deploy_task_id="deploy_x", **EAS).expand(
        service_name=["svc_k", "svc_j"]
    )
    # An unmapped rollback of a service the mapped deploy never touched.
    rollback_other = EasRollbackOperator(task_id="rollback_other", service_name="churn_model",
                                         deploy_task_id="deploy_x", **EAS)
    deploy_x >> [rollback_swapped, rollback_other]

    @task
    def bad_record():
        return "hello"

    @task
    def no_record():
        return None

    rollback_wrong_shape = EasRollbackOperator(task_id="rollback_wrong_shape", service_name="churn_model",
                                               deploy_task_id="bad_record", **EAS)
    rollback_missing = EasRollbackOperator(task_id="rollback_missing", service_name="churn_model",
                                           deploy_task_id="no_record", **EAS)
    rollback_unknown = EasRollbackOperator(task_id="rollback_unknown", service_name="churn_model",
                                           deploy_task_id="{{ 'no_such_task' }}", **EAS)
    bad_record() >> rollback_wrong_shape
    no_record() >> rollback_missing

    # A deploy that failed before UpdateService (no such service): the rollback cannot know more.
    deploy_fails = EasModifyServiceOperator(task_id="deploy_fails", service_name="no_such_service",
                                            model_path=NEW, **EAS)
    rollback_after_fail = EasRollbackOperator(task_id="rollback_after_fail", service_name="no_such_service",
                                              deploy_task_id="deploy_fails", trigger_rule="all_done", **EAS)
    deploy_fails >> rollback_after_fail

    # A deploy that never ran (its upstream failed): nothing was deployed, established -> skip.
    @task
    def boom():
        raise RuntimeError("upstream of the deploy fails")

    deploy_never = EasModifyServiceOperator(task_id="deploy_never", service_name="churn_model", model_path=NEW, **EAS)
    rollback_never = EasRollbackOperator(task_id="rollback_never", service_name="churn_model",
                                         deploy_task_id="deploy_never", trigger_rule="all_done", **EAS)
    boom() >> deploy_never >> rollback_never

    # A list where one value is expected: every map index of a mapped upstream.
    @task
    def uris(i):
        return NEW

    listed = uris.expand(i=[1, 2])
    deploy_list = EasModifyServiceOperator(task_id="deploy_list", service_name="churn_model",
                                           model_path="{{ ti.xcom_pull(task_ids='uris') }}", **EAS)
    train2 = TriggerDesignerNodeOperator.partial(task_id="train2", project_id=10001).expand(node_id=[700001, 700001])
    wait_list = WaitForInstanceSensor(task_id="wait_list", instance_id="{{ ti.xcom_pull(task_ids='train2') }}",
                                      poke_interval=1, timeout=60)
    listed >> deploy_list
    train2 >> wait_list
