"""What the registry operators and ``AcceptModelOperator`` share: setting a version's approval.

Below the operators (DESIGN: operators do not import one another): ``operators/registry.py`` and
``operators/accept.py`` both call into here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.mixins.hook import AIWORKSPACE_HOOK  # noqa: F401  (re-exported: its earlier home)
from airflow_provider_pai.utils.registry import (
    LATEST_APPROVED,
    from_registry_uri,
    parse_model_version,
    validate_approval,
)
from airflow_provider_pai.utils.validation import PaiParameterError

if TYPE_CHECKING:
    from airflow_provider_pai.hooks.aiworkspace import AiWorkspaceHook



def set_approval(hook: AiWorkspaceHook, model_version: Any, approval_status: str, *, model_uri: str | None = None,
                 param: str = "model_version") -> dict:
    """Set ``ApprovalStatus`` on one registered version; returns ``{model_id, version_name, uri, model_uri}``.

    Checked before the update (nothing changes on a refusal): the version exists, is named (not
    ``latest_approved``), and, when ``model_uri`` is given, registers that model (so a mis-wired XCom
    cannot approve another run's model).
    """
    from airflow_provider_pai.hooks.errors import PaiApiError

    validate_approval(approval_status)
    ref = parse_model_version(model_version, param)
    if ref["version_name"] == LATEST_APPROVED:
        raise PaiParameterError(f"Invalid {param}: name the version to set {approval_status} "
                                "(the register task's XCom), not 'latest_approved'.")
    try:
        version = hook.get_model_version(ref["model_id"], ref["version_name"])
    except PaiApiError as err:
        if err.status_code in (400, 404):
            raise AirflowException(
                f"Invalid {param}={ref}: no such model version ({err.code}: {err.message}).") from None
        raise
    deployable = from_registry_uri(version.get("Uri"))
    if model_uri is not None and deployable.rstrip("/") != model_uri.rstrip("/"):
        raise AirflowException(
            f"Invalid {param}={ref}: that version registers {deployable}, not {model_uri}; pass the register "
            f"task's XCom for this model.")
    if version.get("ApprovalStatus") != approval_status:
        hook.update_approval(ref["model_id"], ref["version_name"], approval_status)
    return {"model_id": ref["model_id"], "version_name": ref["version_name"], "uri": version.get("Uri"),
            "model_uri": deployable, "previous_status": version.get("ApprovalStatus")}


def approve_registered(task: Any, model_uri: str) -> dict:
    """``AcceptModelOperator``'s registry step: Approved on ``task.model_version`` when one is given.

    Returns what the asset event and ``_accepted.json`` carry about it (``{}`` without a version).
    """
    if task.model_version in (None, "", {}):
        return {}
    from airflow_provider_pai.hooks.aiworkspace import AiWorkspaceHook

    hook = AiWorkspaceHook(pai_conn_id=task.pai_conn_id, region_id=task.region_id)
    done = set_approval(hook, task.model_version, "Approved", model_uri=model_uri)
    task.log.info("Model %s version %s: ApprovalStatus %s -> Approved.", done["model_id"], done["version_name"],
                  done["previous_status"])
    return {"model_id": done["model_id"], "version_name": done["version_name"], "approval_status": "Approved"}


def accepted_summary(model_uri: str, registered: dict) -> str:
    """One line naming the accepted model: the asset event's ``summary`` and the task's log line."""
    if registered:
        return f"model {registered['model_id']} version {registered['version_name']} (Approved) at {model_uri}"
    return model_uri
