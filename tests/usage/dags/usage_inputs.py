"""Inputs known only at run time (templated) are checked before any mutating call; http(s) model
archives are accepted both as ``model_path=`` and inside ``service_config``."""

from __future__ import annotations

import os

import pendulum

from airflow.providers.common.compat.sdk import DAG
from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator
from airflow_provider_pai.operators.eas import EasModifyServiceOperator
from airflow_provider_pai.operators.oss import ExportModelToOSSOperator
from airflow_provider_pai.sensors.eas import EasServiceSensor

START = pendulum.datetime(2026, 11, 1, tz="UTC")
EAS = {"poll_interval": 1, "timeout": 60, "deferrable": False}
# URLs of model archives the emulator serves (set by the test: the emulator's port is known then).
TAR_URL = os.environ.get("USAGE_TAR_URL", "http://127.0.0.1:1/pai-demo/archives/model.tar.gz")
ZIP_URL = os.environ.get("USAGE_ZIP_URL", "http://127.0.0.1:1/pai-demo/archives/model.zip")

with DAG(dag_id="usage_inputs_runtime", schedule=None, start_date=START, catchup=False):
    EasServiceSensor(task_id="sensor_lower", service_name="churn_model", target_status="{{ 'running' }}",
                     poke_interval=1, timeout=20)  # a wrong check would wait this out
    EasModifyServiceOperator(task_id="deploy_other_name", service_name="churn_model",
                             service_config="{{ {'name': 'svc_a', 'model_path': 'oss://pai-demo/models/churn/v2/'} | tojson }}",
                             **EAS)
    ExportModelToOSSOperator(task_id="export_root", source="oss://pai-demo/models/churn/v2/",
                             destination="oss://{{ 'pai-demo' }}")
    TriggerDesignerNodeOperator(task_id="train_env", project_id=10001, node_id=700001, project_env="{{ 'prod' }}")

with DAG(dag_id="usage_inputs_http", schedule=None, start_date=START, catchup=False, max_active_tasks=1):
    by_path = EasModifyServiceOperator(task_id="by_path", service_name="svc_in", model_path=TAR_URL, **EAS)
    by_config = EasModifyServiceOperator(task_id="by_config", service_name="svc_in",
                                         service_config={"model_path": ZIP_URL}, **EAS)
    by_path >> by_config
