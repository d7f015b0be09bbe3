"""Deploy the latest Approved version of a registry model, on every approval.

Scheduled on the asset ``pai_train_register``'s ``accept`` emits. The model id comes from the
triggering event (or, for a manual run, is looked up by workspace and model name); the EAS
operator resolves ``latest_approved`` to the version's ``Uri`` and ``InferenceSpec`` and refuses
to deploy when the model has no Approved version: a Pending or Rejected version is never deployed.
"""

from __future__ import annotations

import pendulum

from airflow.providers.common.compat.sdk import DAG, Asset, Param, task
from airflow_provider_pai.operators.eas import EasModifyServiceOperator

APPROVED_MODEL = Asset("oss://pai-demo/models/churn/approved/")  # the asset pai_train_register emits

# --8<-- [start:howto_deploy_approved]
with DAG(
    dag_id="pai_deploy_approved",
    schedule=[APPROVED_MODEL],
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    params={"workspace_id": Param("86001", type="string"), "model_name": Param("churn", type="string")},
    tags=["pai", "example", "registry"],
) as dag:

    @task
    def registry_model(**context) -> dict:
        """The model to deploy: the triggering event's model id, else the model of that name."""
        from airflow_provider_pai.hooks.aiworkspace import AiWorkspaceHook

        events = context.get("triggering_asset_events") or context.get("triggering_dataset_events") or {}
        ids = [e.extra["model_id"] for evs in events.values() for e in evs if (e.extra or {}).get("model_id")]
        if ids:
            return {"model_id": ids[-1], "version_name": "latest_approved"}
        params = context["params"]
        model = AiWorkspaceHook().find_model(params["workspace_id"], params["model_name"])
        if model is None:
            raise ValueError(f"Workspace {params['workspace_id']} has no model {params['model_name']!r}.")
        return {"model_id": model["ModelId"], "version_name": "latest_approved"}

    deploy = EasModifyServiceOperator(
        task_id="deploy",
        service_name="churn_model",
        model_version="{{ ti.xcom_pull(task_ids='registry_model') }}",  # refused unless Approved
        poll_interval=2,
    )
    registry_model() >> deploy
# --8<-- [end:howto_deploy_approved]
