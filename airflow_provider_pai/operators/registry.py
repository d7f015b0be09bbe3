"""Register an exported model as a version in PAI's model registry (AI Workspace), Pending approval.

The flow: export -> ``PaiRegisterModelVersionOperator`` -> test -> ``AcceptModelOperator`` (sets the
version Approved) or a reject step (Rejected) -> deploy DAGs take ``model_version=`` with
``latest_approved`` (docs/operators/registry.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.links.registry import PaiModelVersionLink
from airflow_provider_pai.mixins.registry import AIWORKSPACE_HOOK, set_approval
from airflow_provider_pai.operators.base import PaiBaseOperator, pai_template_fields
from airflow_provider_pai.utils.registry import (
    RUN_LABEL,
    parse_metrics,
    parse_model_version,
    registry_lineage,
    run_label,
    to_registry_uri,
    validate_approval,
    validate_model_name,
    validate_version_name,
    validate_workspace_id,
)
from airflow_provider_pai.utils.validation import PaiParameterError, is_runtime_value, validate_model_path

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_pai.hooks.aiworkspace import AiWorkspaceHook

def find_model_or_refuse(hook: AiWorkspaceHook, workspace_id: str, model_name: str) -> dict | None:
    """The model of that name, or None; an unknown workspace is refused naming ``workspace_id``."""
    from airflow_provider_pai.hooks.errors import PaiApiError

    try:
        return hook.find_model(workspace_id, model_name)
    except PaiApiError as err:
        if err.status_code in (400, 404):
            raise AirflowException(
                f"Invalid workspace_id={workspace_id!r}: AI Workspace refused it ({err.code}: {err.message}). "
                "Give the id of an existing workspace in this region (the console URL's workspaceId=...)."
            ) from None
        raise


class PaiSetModelApprovalOperator(PaiBaseOperator["AiWorkspaceHook"]):
    """Set a registered version's ``ApprovalStatus`` (e.g. ``Rejected`` after a failed test).

    :param model_version: the register task's XCom, or ``{"model_id": ..., "version_name": ...}``. Templated.
    :param approval_status: ``Approved``, ``Rejected`` (default) or ``Pending``.
    Approving is usually ``AcceptModelOperator(model_version=...)``, which also emits the "model ready"
    asset. Returns ``{model_id, version_name, uri, model_uri, approval_status}``.
    """

    hook_class_path = AIWORKSPACE_HOOK
    supports_deferral = False
    template_fields: Sequence[str] = pai_template_fields("model_version")

    def __init__(self, *, model_version: Any, approval_status: str = "Rejected", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not is_runtime_value(model_version):
            parse_model_version(model_version)
        self.model_version = model_version
        self.approval_status = validate_approval(approval_status)

    def execute(self, context: Context) -> dict:
        done = set_approval(self.hook, self.model_version, self.approval_status)
        self.log.info("Model %s version %s: ApprovalStatus %s -> %s (%s).", done["model_id"], done["version_name"],
                      done["previous_status"], self.approval_status, done["model_uri"])
        return {**{k: v for k, v in done.items() if k != "previous_status"}, "approval_status": self.approval_status}


class PaiRegisterModelVersionOperator(PaiBaseOperator["AiWorkspaceHook"]):
    """Register ``model_uri`` as a new version of ``model_name`` in workspace ``workspace_id``.

    :param workspace_id: the PAI workspace whose model registry is used. Templated.
    :param model_name: the registry model (1-127 characters). Templated.
    :param model_uri: the exported model, ``oss://bucket/path/`` (sent as ``oss://bucket.<endpoint>/path/``,
        the form AI Workspace documents) or an http(s) URL. Templated.
    :param inference_spec: what EAS deploys the version with, e.g. ``{"processor": "pmml"}``; the EAS
        operators' ``model_version=`` merges it into the service config. Templated.
    :param metrics: the test's figures (dict or JSON string, at most 8,192 bytes serialized). Templated.
    :param labels: extra ``{key: value}`` labels. Templated. The operator adds ``airflow-run``
        (``dag_id/run_id/task_id``), ``airflow-dag`` and, when given, ``dataworks-instance``.
    :param dataworks_instance_id: the DataWorks run that trained the model (lineage label). Templated.
    :param version_name: e.g. ``1.2.0``; default: PAI numbers versions 0.1.0, 0.2.0, ...
    :param approval_status: ``Pending`` (default), ``Approved`` or ``Rejected``.
    :param create_model_if_missing: create ``model_name`` when the workspace has none (default False:
        a typo in the name is refused instead of creating a second model).
    :param format_type, framework_type, description: the version's FormatType, FrameworkType and
        VersionDescription (omitted when None).
    Returns ``{workspace_id, model_id, model_name, version_name, uri, model_uri, approval_status}``;
    a retry finds the version its earlier try registered (label ``airflow-run``) and never registers twice.
    """

    hook_class_path = AIWORKSPACE_HOOK
    supports_deferral = False  # a few calls; nothing to wait for
    operator_extra_links = (PaiModelVersionLink(),)
    template_fields: Sequence[str] = pai_template_fields(
        "workspace_id", "model_name", "model_uri", "inference_spec", "metrics", "labels", "dataworks_instance_id",
        "version_name")
    template_fields_renderers = {"inference_spec": "json", "metrics": "json", "labels": "json"}

    def __init__(self, *, workspace_id: str, model_name: str, model_uri: str, inference_spec: dict | None = None,
                 metrics: Any = None, labels: dict[str, str] | None = None, dataworks_instance_id: Any = None,
                 version_name: str | None = None, approval_status: str = "Pending",
                 create_model_if_missing: bool = False, format_type: str | None = None,
                 framework_type: str | None = None, description: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # What is known at parse time is checked now; templated values once rendered, in execute.
        if not is_runtime_value(model_name):
            validate_model_name(model_name)
        if version_name is not None and not is_runtime_value(version_name):
            validate_version_name(version_name)
        if not is_runtime_value(metrics):
            parse_metrics(metrics)
        self.workspace_id = workspace_id
        self.model_name = model_name
        self.model_uri = model_uri
        self.inference_spec = inference_spec
        self.metrics = metrics
        self.labels = labels
        self.dataworks_instance_id = dataworks_instance_id
        self.version_name = version_name
        self.approval_status = validate_approval(approval_status)
        self.create_model_if_missing = create_model_if_missing
        self.format_type = format_type
        self.framework_type = framework_type
        self.description = description
        self._lineage_result: dict | None = None

    def _checked(self) -> tuple[str, str, str, dict | None, dict | None, dict[str, str]]:
        workspace_id = validate_workspace_id(self.workspace_id)
        model_name = validate_model_name(self.model_name)
        model_uri = validate_model_path(self.model_uri, "model_uri")
        metrics = parse_metrics(self.metrics)
        spec = self.inference_spec
        if spec is not None and not isinstance(spec, dict):
            raise PaiParameterError(f"Invalid inference_spec={spec!r}: give a dict, e.g. {{'processor': 'pmml'}}.")
        labels = self.labels or {}
        if not isinstance(labels, dict):
            raise PaiParameterError(f"Invalid labels={labels!r}: give a dict of {{key: value}} strings.")
        if self.version_name is not None:
            validate_version_name(self.version_name)
        return workspace_id, model_name, model_uri, metrics, spec, {str(k): str(v) for k, v in labels.items()}

    def execute(self, context: Context) -> dict:
        workspace_id, model_name, model_uri, metrics, spec, labels = self._checked()
        ti = context["ti"]
        mine = run_label(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", None))
        labels = {**labels, RUN_LABEL: mine, "airflow-dag": ti.dag_id}
        if self.dataworks_instance_id not in (None, ""):
            labels["dataworks-instance"] = str(self.dataworks_instance_id)
        uri = to_registry_uri(model_uri, self.hook.registry_oss_host())

        model = find_model_or_refuse(self.hook, workspace_id, model_name)
        if model is None:
            if not self.create_model_if_missing:
                raise AirflowException(
                    f"Workspace {workspace_id} has no model named {model_name!r}: check model_name, or pass "
                    "create_model_if_missing=True to create it on first use.")
            self.log.info("Creating model %r in workspace %s.", model_name, workspace_id)
            model_id = self.hook.create_model(
                workspace_id, model_name, is_done=lambda: (self.hook.find_model(workspace_id, model_name) or {}))
        else:
            model_id = model["ModelId"]

        def registered() -> str | None:
            for version in self.hook.list_model_versions(model_id, label=mine):
                if any(lb.get("Key") == RUN_LABEL and lb.get("Value") == mine for lb in version.get("Labels") or []):
                    return version["VersionName"]
            return None

        version_name = registered()
        if version_name is not None:
            self.log.info("An earlier try already registered %s as version %s of model %s; not registering again.",
                          model_uri, version_name, model_id)
        else:
            taken = self.version_name is not None and self.hook.list_model_versions(
                model_id, version_name=self.version_name)
            if taken:
                raise AirflowException(
                    f"Model {model_id} ({model_name!r}) already has a version {self.version_name!r} registered by "
                    "something else: give another version_name, or leave it out to let PAI number it.")
            version_name = self.hook.create_model_version(
                model_id, uri=uri, version_name=self.version_name, approval_status=self.approval_status,
                inference_spec=spec, metrics=metrics, labels=labels, format_type=self.format_type,
                framework_type=self.framework_type, description=self.description, is_done=registered)
        link = PaiModelVersionLink.persist(context, region_id=self.hook.region_id, workspace_id=workspace_id,
                                           model_id=model_id, version_name=version_name)
        self.log.info("Registered %s as version %s of model %s (%s), ApprovalStatus %s: %s", model_uri,
                      version_name, model_name, model_id, self.approval_status, link)
        result = {"workspace_id": workspace_id, "model_id": model_id, "model_name": model_name,
                  "version_name": version_name, "uri": uri, "model_uri": model_uri,
                  "approval_status": self.approval_status, "region_id": self.hook.region_id}
        self._lineage_result = result
        return result

    def get_openlineage_facets_on_complete(self, task_instance):
        """The model files in OSS -> the registry model; the version as the external run (docs/lineage.md)."""
        result = self._lineage_result or {}
        return registry_lineage(result.get("model_uri") or self.model_uri, result.get("region_id") or
                                self.hook.region_id, result.get("workspace_id") or self.workspace_id,
                                result.get("model_name") or self.model_name, result.get("version_name"))
