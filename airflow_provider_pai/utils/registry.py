"""The model registry's rules, as pure functions: URIs, names, metrics, labels, the deploy reference.

No hooks and no remote calls (see DESIGN.md, utils/). Sources: the SDK's request models
(``alibabacloud_aiworkspace20210204/models``), rows F-AIW-* in docs/cloud-fidelity.md.
"""

from __future__ import annotations

import json
import re
from typing import Any

from airflow_provider_pai.utils.validation import PaiParameterError, parse_oss_uri

APPROVAL_STATUSES = ("Pending", "Approved", "Rejected")
LATEST_APPROVED = "latest_approved"
METRICS_MAX_BYTES = 8192  # CreateModelVersionRequest.metrics: "cannot exceed 8,192 bytes" (F-AIW-3)
MODEL_NAME_MAX = 127  # CreateModelRequest.model_name: "1 to 127 characters" (F-AIW-2)
# VersionName: major.minor numeric; patch starts with a digit and may hold letters and "_" (F-AIW-4).
_VERSION_NAME = re.compile(r"\d+\.\d+\.\d[0-9A-Za-z_]*")
RUN_LABEL = "airflow-run"  # the label a register task finds its own earlier try by


def _structured(text: str):
    """A dict from JSON, or from the Python repr a template renders (``{{ ti.xcom_pull(...) }}`` gives
    ``{'model_id': ...}`` unless the DAG renders native objects); None when it is neither."""
    import ast

    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def validate_workspace_id(value: Any, param: str = "workspace_id") -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise PaiParameterError(f"Invalid {param}={value!r}: give the PAI workspace id (the number in the console "
                                f"URL's workspaceId=..., or ListWorkspaces' WorkspaceId).")
    return text


def validate_model_name(value: Any, param: str = "model_name") -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MODEL_NAME_MAX or value != value.strip():
        raise PaiParameterError(
            f"Invalid {param}={value!r}: a model name is 1 to {MODEL_NAME_MAX} characters without leading or "
            "trailing spaces (CreateModel's ModelName), e.g. 'churn'.")
    return value


def validate_version_name(value: Any, param: str = "version_name") -> str:
    if not isinstance(value, str) or not _VERSION_NAME.fullmatch(value):
        raise PaiParameterError(
            f"Invalid {param}={value!r}: a version name is major.minor.patch with numeric major and minor, "
            "e.g. '1.1.0' or '2.3.4_beta'; leave it out and PAI numbers versions 0.1.0, 0.2.0, ...")
    return value


def validate_approval(value: Any, param: str = "approval_status") -> str:
    if value not in APPROVAL_STATUSES:
        raise PaiParameterError(f"Invalid {param}={value!r}: use one of {', '.join(APPROVAL_STATUSES)}.")
    return value


def parse_metrics(value: Any, param: str = "metrics") -> dict | None:
    """The metrics as a dict (a JSON string is parsed), refused above the documented 8,192 bytes."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        parsed = _structured(value)
        if parsed is None:
            raise PaiParameterError(f"Invalid {param}: not JSON; give a dict such as " '{"auc": 0.91}')
        value = parsed
    if not isinstance(value, dict):
        raise PaiParameterError(f"Invalid {param}: give a dict of metrics such as {{'auc': 0.91}}, "
                                f"not a {type(value).__name__}.")
    size = len(json.dumps(value, separators=(",", ":"), default=str).encode())
    if size > METRICS_MAX_BYTES:
        raise PaiParameterError(
            f"Invalid {param}: {size} bytes once serialized, above the {METRICS_MAX_BYTES} bytes AI Workspace "
            "accepts for a version's Metrics; keep the summary figures and store the rest next to the model.")
    return json.loads(json.dumps(value, default=str))


def run_label(dag_id: str, run_id: str, task_id: str, map_index: int | None = None) -> str:
    """The value of the ``airflow-run`` label: one per task instance, the same on every try."""
    text = f"{dag_id}/{run_id}/{task_id}"
    return f"{text}/{map_index}" if map_index is not None and map_index >= 0 else text


def to_registry_uri(model_uri: str, oss_host: str, param: str = "model_uri") -> str:
    """``oss://bucket/path`` -> ``oss://bucket.<oss endpoint>/path`` (CreateModelVersion's Uri, F-AIW-1);
    an http(s) URL is kept as it is."""
    if isinstance(model_uri, str) and model_uri.startswith(("http://", "https://")):
        return model_uri
    bucket, key = parse_oss_uri(model_uri, param=param)
    return f"oss://{bucket}.{oss_host}/{key}"


def from_registry_uri(uri: str | None) -> str:
    """A version's ``Uri`` as the EAS operators take it: ``oss://bucket.endpoint/path`` -> ``oss://bucket/path``."""
    if not isinstance(uri, str) or not uri:
        raise PaiParameterError(f"The model version has no Uri ({uri!r}): it cannot be deployed.")
    if uri.startswith(("http://", "https://")):
        return uri
    if not uri.startswith("oss://"):
        raise PaiParameterError(f"The model version's Uri {uri!r} is neither oss:// nor http(s): it cannot be "
                                "deployed by EAS.")
    host, _, key = uri[len("oss://"):].partition("/")
    bucket = host.split(".", 1)[0]
    return f"oss://{bucket}/{key}"


def parse_model_version(value: Any, param: str = "model_version") -> dict:
    """``{"model_id": ..., "version_name": <name> | "latest_approved"}``; also accepts the register task's
    return value (which has both keys) or ``"<model_id>:<version_name>"``."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("{"):
            value = _structured(stripped) or value
        elif ":" in stripped:
            model_id, _, version = stripped.partition(":")
            value = {"model_id": model_id, "version_name": version}
    if not isinstance(value, dict) or not value.get("model_id"):
        raise PaiParameterError(
            f"Invalid {param}={value!r}: give {{'model_id': 'model-...', 'version_name': '0.1.0'}}, or "
            f"version_name '{LATEST_APPROVED}' for the newest Approved version, or the register task's XCom.")
    version = value.get("version_name") or LATEST_APPROVED
    if version != LATEST_APPROVED:
        validate_version_name(version, f"{param}['version_name']")
    return {"model_id": str(value["model_id"]), "version_name": version}


REGISTRY_NAMESPACE = "aiworkspace://aiworkspace.{region}.aliyuncs.com"


def registry_lineage(model_uri: str | None, region_id: str, workspace_id: str, model_name: str,
                     version_name: str | None):
    """A registration's lineage (docs/lineage.md): the model files in OSS (input) -> the registry model
    ``<workspace_id>/<model_name>`` (output, namespace the region's AI Workspace host); the version as
    the run's external id."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    from airflow_provider_pai.utils.openlineage import external_run_facets, lineage, oss_dataset

    inputs = [oss_dataset(model_uri)] if isinstance(model_uri, str) and model_uri.startswith("oss://") else []
    output = Dataset(namespace=REGISTRY_NAMESPACE.format(region=region_id), name=f"{workspace_id}/{model_name}")
    run_id = f"{workspace_id}/{model_name}@{version_name}"
    facets = external_run_facets("pai-aiworkspace", run_id) if version_name else {}
    return lineage(inputs, [output], facets)
