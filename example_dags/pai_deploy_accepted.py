"""Deploy each accepted model: a DAG scheduled on the "model ready" asset of ``pai_train_accept``.

Runs when ``AcceptModelOperator`` emits the asset (Airflow 3 assets; Datasets on Airflow 2.x),
takes the model URI from the triggering event, checks the model really was accepted (its
``_accepted.json``), and rolls the production service onto it. Run it by hand with
``-c '{"model_uri": "oss://pai-demo/models/churn/20261120/"}'``: an unaccepted model is refused.
"""

from __future__ import annotations

import pendulum

from airflow.providers.common.compat.sdk import DAG, Asset, Param, task
from airflow_provider_pai.operators.eas import EasModifyServiceOperator

ACCEPTED_MODEL = Asset("oss://pai-demo/models/churn/")  # the asset pai_train_accept emits

# --8<-- [start:howto_deploy_accepted]
with DAG(
    dag_id="pai_deploy_accepted",
    schedule=[ACCEPTED_MODEL],
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    params={"model_uri": Param(None, type=["null", "string"], description="Deploy this model (manual runs)")},
    tags=["pai", "example", "assets"],
) as dag:

    @task
    def accepted_model(**context) -> str:
        """The newest accepted model among the triggering events (or params.model_uri), checked."""
        from airflow_provider_pai.hooks.oss import OssHook
        from airflow_provider_pai.operators.accept import accepted_record

        events = context.get("triggering_asset_events") or context.get("triggering_dataset_events") or {}
        uris = [e.extra["model_uri"] for evs in events.values() for e in evs if (e.extra or {}).get("model_uri")]
        uri = uris[-1] if uris else context["params"].get("model_uri")
        if not uri:
            raise ValueError("No model: this DAG runs on the accepted-model asset, or with -c '{\"model_uri\": ...}'.")
        if accepted_record(OssHook(), uri) is None:
            raise ValueError(f"{uri} was never accepted (no _accepted.json): not deploying it.")
        return uri

    deploy = EasModifyServiceOperator(
        task_id="deploy",
        service_name="churn_model",
        model_path="{{ ti.xcom_pull(task_ids='accepted_model') }}",
        poll_interval=2,
    )
    accepted_model() >> deploy
# --8<-- [end:howto_deploy_accepted]
