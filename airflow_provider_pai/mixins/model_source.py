"""The EAS deploy operators' "resolve the model source" step, run before their first mutating call.

1. ``model_version=`` (a registered version, or ``latest_approved``) instead of ``model_path``: its
   ``Uri`` (``oss://bucket.endpoint/path`` -> ``oss://bucket/path``) becomes the model path and its
   ``InferenceSpec`` fills what the service config does not set; a version that is not Approved is
   refused unless ``allow_unapproved=True``.
2. The model must be there: an ``oss://`` model path whose prefix holds no object, or an http(s)
   package that answers 404/410 to HEAD, is refused naming ``model_path`` (issue 23: EAS would fail
   to download it, the provider would roll back, and the service would have burnt two versions).

The EAS operators mix ``ModelSourceMixin`` in and call ``self.resolve_model_source()`` once at the top of
``execute``; everything else lives here.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_pai.utils.validation import PaiParameterError, is_runtime_value, parse_oss_uri

if TYPE_CHECKING:
    from collections.abc import Collection

HEAD_TIMEOUT_S = 10.0


def _configured_path(task: Any) -> tuple[str | None, str]:
    """(model path the task will deploy, the parameter that gave it)."""
    if getattr(task, "model_path", None):
        return task.model_path, "model_path"
    config = getattr(task, "service_config", None)
    if config:
        path = _config(config).get("model_path")
        if path:
            return path, "service_config['model_path']"
    return None, "model_path"


def check_model_present(task: Any, path: str, param: str) -> None:
    """Refuse a model path with nothing behind it (before any call that changes the service)."""
    if path.startswith("oss://"):
        from airflow_provider_pai.hooks.errors import PaiApiError

        bucket, key = parse_oss_uri(path, param=param)
        hook = task.model_source_oss
        # A prefix ("dir/") must hold an object; a key without "/" may be the object itself or a "directory".
        prefix = key if not key or key.endswith("/") else key + "/"
        try:
            if key and not key.endswith("/") and hook.head_object(bucket, key) is not None:
                return
            if hook.first_objects(bucket, prefix, limit=1):
                return
        except PaiApiError as err:
            if err.code == "NoSuchBucket":
                raise PaiParameterError(
                    f"Invalid {param}={path!r}: OSS bucket {bucket!r} does not exist ({err.message}).") from None
            # No permission to list, a wrong region: the check cannot tell, EAS reads the model with its own
            # access. Said once, and the deploy's own calls report a connection problem in their terms.
            task.log.warning("Could not check %s=%s before deploying (%s: %s); EAS will report it if it is missing.",
                             param, path, err.action, err.code)
            return
        raise PaiParameterError(
            f"Invalid {param}={path!r}: OSS bucket {bucket!r} holds no object under {prefix!r}, so EAS could "
            "not load a model from it. Check the path (the export task's return value is the prefix it wrote).")
    if path.startswith(("http://", "https://")):
        request = urllib.request.Request(path, method="HEAD")
        try:
            with urllib.request.urlopen(request, timeout=HEAD_TIMEOUT_S):  # noqa: S310 (http(s) only, checked above)
                return
        except urllib.error.HTTPError as err:
            if err.code in (404, 410):
                raise PaiParameterError(
                    f"Invalid {param}={path!r}: HEAD answered HTTP {err.code}, so EAS could not download the "
                    "package. Check the URL.") from None
            found = f"HTTP {err.code}"
        except (urllib.error.URLError, OSError) as err:
            found = f"{type(err).__name__}: {getattr(err, 'reason', err)}"
        # Signed URLs may refuse HEAD, and a worker may not reach what EAS reaches: say so, deploy anyway.
        task.log.warning("Could not check %s=%s before deploying (%s); EAS will report it if it is missing.",
                         param, path, found)


def resolve_registered(task: Any) -> tuple[str, dict]:
    """(model path, InferenceSpec) of ``task.model_version``; a version that is not Approved is refused."""
    from airflow_provider_pai.hooks.aiworkspace import AiWorkspaceHook
    from airflow_provider_pai.hooks.errors import PaiApiError
    from airflow_provider_pai.utils.registry import LATEST_APPROVED, from_registry_uri, parse_model_version

    ref = parse_model_version(task.model_version)
    hook = AiWorkspaceHook(pai_conn_id=task.pai_conn_id, region_id=task.region_id)
    model_id, name = ref["model_id"], ref["version_name"]
    if name == LATEST_APPROVED:
        version = hook.latest_version(model_id, approval_status="Approved")
        if version is None:
            raise PaiParameterError(
                f"Invalid model_version={ref}: model {model_id} has no Approved version yet, so there is nothing "
                "to deploy. Approve one (AcceptModelOperator(model_version=...)) or name a version.")
    else:
        try:
            version = hook.get_model_version(model_id, name)
        except PaiApiError as err:
            if err.status_code in (400, 404):
                raise PaiParameterError(
                    f"Invalid model_version={ref}: AI Workspace has no such version ({err.code}: {err.message})."
                ) from None
            raise
    status = version.get("ApprovalStatus")
    if status != "Approved" and not task.allow_unapproved:
        raise PaiParameterError(
            f"Invalid model_version={ref}: version {version.get('VersionName')} is {status}, not Approved, and is "
            "not deployed. Approve it first, or pass allow_unapproved=True to deploy it anyway.")
    path = from_registry_uri(version.get("Uri"))
    spec = version.get("InferenceSpec") or {}
    task.log.info("Deploying model %s version %s (%s): %s, InferenceSpec %s", model_id, version.get("VersionName"),
                  status, path, spec)
    task.resolved_model_version = {"model_id": model_id, "version_name": version.get("VersionName"),
                                   "approval_status": status, "uri": version.get("Uri")}
    return path, spec


def _config(value: Any, param: str = "service_config") -> dict:
    from airflow_provider_pai.utils.eas import parse_service_config

    return parse_service_config(value, param)


def _merged(config: Any, path: str, spec: dict, param: str) -> dict:
    config = _config(config, param) if config not in (None, "") else {}
    if config.get("model_path"):
        raise PaiParameterError(f"Invalid {param}: it sets model_path and model_version is given too; give one.")
    return {**spec, **config, "model_path": path}  # the task's own config wins over the InferenceSpec


class ModelSourceMixin:
    """``model_version=``, ``allow_unapproved=`` and ``check_model_path=`` for the EAS deploy operators.

    :param model_version: deploy a version of PAI's model registry instead of ``model_path``:
        ``{"model_id": "model-...", "version_name": "0.2.0" | "latest_approved"}`` or the register
        task's XCom. Templated.
    :param allow_unapproved: deploy a version that is Pending or Rejected (default False: refused).
    :param check_model_path: check that the model path holds something before deploying (default True).
    """

    if TYPE_CHECKING:
        # From the EAS operator it is mixed into; model_path, service_config and canary_config are
        # each on some of them only (hence the hasattr checks below).
        template_fields: Collection[str]
        pai_conn_id: str
        region_id: str | None
        model_path: str | None
        service_config: Any
        canary_config: dict

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Each EAS operator spells out its template_fields; model_version joins them here so the
        # operators' own lists stay as they are.
        super().__init_subclass__(**kwargs)
        fields = tuple(getattr(cls, "template_fields", ()))
        if "model_version" not in fields:
            cls.template_fields = (*fields, "model_version")

    def __init__(self, *, model_version: Any = None, allow_unapproved: bool = False, check_model_path: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if model_version is not None and not is_runtime_value(model_version):
            from airflow_provider_pai.utils.registry import parse_model_version  # only tasks that name a version

            parse_model_version(model_version)
        self.model_version = model_version
        self.allow_unapproved = allow_unapproved
        self.check_model_path = check_model_path
        self.resolved_model_version: dict | None = None

    @cached_property
    def model_source_oss(self):
        """The OssHook the model-path check reads with (same connection and region as the task)."""
        from airflow_provider_pai.hooks.oss import OssHook

        return OssHook(pai_conn_id=self.pai_conn_id, region_id=self.region_id)

    def resolve_model_source(self) -> None:
        """Fill the model path from ``model_version`` and check the model is there; raise before any change."""
        if self.model_version not in (None, "", {}):
            if getattr(self, "model_path", None):
                raise PaiParameterError("Give model_path or model_version, not both.")
            path, spec = resolve_registered(self)
            if hasattr(self, "canary_config"):
                self.canary_config = {**spec, **(self.canary_config or {})}
                self.model_path = path
            elif hasattr(self, "model_path"):  # modify: the spec fills what the task's own config leaves out
                self.model_path = path
                extra = {k: v for k, v in spec.items() if k != "model_path"}
                if extra:
                    own = self.service_config
                    self.service_config = {**extra, **(_config(own) if own not in (None, "") else {})}
            else:  # create: the model path goes into the service description
                self.service_config = _merged(self.service_config, path, spec, "service_config")
        if not self.check_model_path:
            return
        configured, param = _configured_path(self)
        if configured:
            check_model_present(self, configured, param)
