"""Mark an exported model as accepted, and only then tell Airflow a new model is ready.

``ExportModelToOSSOperator`` runs before any test, so its output is a *candidate*. Put
``AcceptModelOperator`` after the test: it checks the export finished (its ``_manifest.json``),
writes ``_accepted.json`` next to it, and emits the ``asset`` you give it with the model's URI in
the event's ``extra`` (``{"model_uri": "oss://..."}``). A DAG scheduled on that asset therefore
only ever sees accepted models (docs/operators/accept.md).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Sequence

from airflow.providers.common.compat.sdk import AirflowException, Asset

from airflow_provider_pai.mixins.hook import OSS_HOOK
from airflow_provider_pai.mixins.registry import accepted_summary, approve_registered
from airflow_provider_pai.operators.base import PaiBaseOperator, pai_template_fields
from airflow_provider_pai.utils.validation import PaiParameterError, parse_oss_uri

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_pai.hooks.oss import OssHook

MANIFEST_NAME = "_manifest.json"  # written last by ExportModelToOSSOperator
ACCEPTED_NAME = "_accepted.json"


def model_prefix(model_uri: str, param: str = "model_uri") -> tuple[str, str]:
    bucket, key = parse_oss_uri(model_uri, param=param)
    return bucket, key if not key or key.endswith("/") else key + "/"


def accepted_record(hook: OssHook, model_uri: str) -> dict | None:
    """The ``_accepted.json`` of a model prefix, or None if the model was never accepted."""
    bucket, prefix = model_prefix(model_uri)
    if hook.head_object(bucket, prefix + ACCEPTED_NAME) is None:
        return None
    return json.loads(hook.get_object(bucket, prefix + ACCEPTED_NAME))


class AcceptModelOperator(PaiBaseOperator["OssHook"]):
    """Record that the model at ``model_uri`` passed its tests and emit ``asset`` for it.

    :param model_uri: ``oss://bucket/prefix/`` of an export (``ExportModelToOSSOperator``'s return value).
    :param asset: the "model ready" asset (an ``Asset``, or a URI string) that deploy DAGs are
        scheduled on; the event's ``extra`` is ``{"model_uri": ..., "accepted_by": ...}``.
    :param evidence: anything JSON-able to keep in ``_accepted.json`` (e.g. the test's metrics).
    :param require_manifest: refuse a prefix without the export's ``_manifest.json`` (default True).
    :param model_version: the registered version of this model (``PaiRegisterModelVersionOperator``'s
        XCom, or ``{"model_id": ..., "version_name": ...}``): set ``Approved`` in PAI's model registry
        before the asset is emitted; the event's ``extra`` then also has ``model_id`` and ``version_name``.
        Templated.
    Returns ``model_uri``. ``pai_conn_id``, ``region_id``: see ``PaiBaseOperator``.
    """

    hook_class_path = OSS_HOOK
    supports_deferral = False  # two OSS calls, nothing to wait for
    template_fields: Sequence[str] = pai_template_fields("model_uri", "evidence", "model_version")

    def __init__(self, *, model_uri: str, asset: Any, evidence: Any = None, require_manifest: bool = True,
                 model_version: Any = None, **kwargs: Any) -> None:
        if isinstance(asset, str):
            if "{{" in asset:
                raise PaiParameterError(f"Invalid asset={asset!r}: an asset must be fixed when the DAG is parsed "
                                        "(schedules are built from it); give a plain URI or an Asset.")
            asset = Asset(asset)
        if asset is None or not hasattr(asset, "uri"):
            raise PaiParameterError(f"Invalid asset={asset!r}: give an Asset (or a URI string) for deploy DAGs "
                                    "to be scheduled on, e.g. Asset('oss://my-bucket/models/churn/').")
        kwargs["outlets"] = [*(kwargs.get("outlets") or []), asset]
        super().__init__(**kwargs)
        self.model_uri = model_uri
        self.asset = asset
        self.evidence = evidence
        self.require_manifest = require_manifest
        self.model_version = model_version

    def execute(self, context: Context) -> str:
        bucket, prefix = model_prefix(self.model_uri)
        model_uri = f"oss://{bucket}/{prefix}"
        if self.require_manifest and self.hook.head_object(bucket, prefix + MANIFEST_NAME) is None:
            raise AirflowException(
                f"{model_uri} has no {MANIFEST_NAME}: it is not a finished ExportModelToOSSOperator export, so it "
                "cannot be accepted. Pass the export's return value, or require_manifest=False for other models."
            )
        ti = context["ti"]
        by = f"{ti.dag_id}/{ti.run_id}/{ti.task_id}"
        registered = approve_registered(self, model_uri)  # before anything is written: a refusal changes nothing
        record = {"model_uri": model_uri, "accepted_by": by, "evidence": self.evidence,
                  "accepted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **registered}
        self.hook.put_object(bucket, prefix + ACCEPTED_NAME, json.dumps(record, indent=2, default=str),
                             content_type="application/json")
        summary = accepted_summary(model_uri, registered)
        context["outlet_events"][self.asset].extra = {"summary": summary, "model_uri": model_uri, "accepted_by": by,
                                                      **registered}
        self.log.info("Accepted %s (%s written); asset %s emitted.", summary, ACCEPTED_NAME, self.asset.uri)
        return model_uri
