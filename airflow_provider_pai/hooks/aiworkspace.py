"""PAI AI Workspace OpenAPI 2021-02-04 (ROA): the model registry (models, versions, approval).

Actions, paths and fields: the SDK ``alibabacloud_aiworkspace20210204`` (``client.py``, ``models/``);
rows F-AIW-* in docs/cloud-fidelity.md. Every call goes through the base hook's one retry policy;
mutating calls take ``is_done`` so a retry first reads back whether the call already took effect.
"""

from __future__ import annotations

from functools import partial

from airflow_provider_pai.hooks.base import AlibabaCloudBaseHook

# The SDK documents PageSize's default (10) but no maximum; 100 is what the other hooks page with.
PAGE_SIZE = 100
APPROVAL_STATUSES = ("Pending", "Approved", "Rejected")


class AiWorkspaceHook(AlibabaCloudBaseHook):
    """PAI AI Workspace: models and model versions of a workspace's model registry."""

    service = "aiworkspace"
    hook_name = "Alibaba Cloud PAI: AI Workspace"

    def get_client(self):
        """The SDK client (cached per hook)."""

        def build():
            from alibabacloud_aiworkspace20210204.client import Client

            return Client(self.tea_config("aiworkspace"))

        return self._cached_client("aiworkspace", build)

    @staticmethod
    def _models():
        from alibabacloud_aiworkspace20210204 import models

        return models

    # ---- models -------------------------------------------------------------------------------

    def list_models(self, workspace_id: str, model_name: str | None = None) -> list[dict]:
        """Every model of the workspace (every page); ``model_name`` narrows the list server-side."""
        models: list[dict] = []
        page = 1
        while True:
            request = self._models().ListModelsRequest(workspace_id=str(workspace_id), model_name=model_name,
                                                       page_number=page, page_size=PAGE_SIZE)
            # partial binds this page's request: a closure would see whatever the loop holds when called (B023)
            body = self.call("ListModels", partial(lambda request: self.get_client().list_models(request).body.to_map(), request))
            batch = body.get("Models") or []
            models.extend(batch)
            if not batch or len(models) >= int(body.get("TotalCount") or 0):
                return models
            page += 1

    def find_model(self, workspace_id: str, model_name: str) -> dict | None:
        """The model of that exact name in the workspace, or None (the server's name filter is not
        documented as exact, so the match is checked here)."""
        for model in self.list_models(workspace_id, model_name):
            if model.get("ModelName") == model_name:
                return model
        return None

    def get_model(self, model_id: str) -> dict:
        request = self._models().GetModelRequest()
        return self.call("GetModel", lambda: self.get_client().get_model(model_id, request).body.to_map())

    def create_model(self, workspace_id: str, model_name: str, description: str | None = None,
                     *, is_done=None) -> str:
        """CreateModel; returns the new ``ModelId``."""
        request = self._models().CreateModelRequest(workspace_id=str(workspace_id), model_name=model_name,
                                                    model_description=description)
        body = self.call("CreateModel", lambda: self.get_client().create_model(request).body.to_map(),
                         is_done=is_done)
        return body["ModelId"]

    # ---- versions -----------------------------------------------------------------------------

    def list_model_versions(self, model_id: str, *, approval_status: str | None = None, label: str | None = None,
                            version_name: str | None = None, order: str = "DESC",
                            limit: int | None = None) -> list[dict]:
        """Versions of a model, newest first by default (``SortBy=GmtCreateTime``), every page or ``limit``."""
        versions: list[dict] = []
        page = 1
        size = min(PAGE_SIZE, limit) if limit else PAGE_SIZE
        while True:
            request = self._models().ListModelVersionsRequest(
                approval_status=approval_status, label=label, version_name=version_name, order=order,
                sort_by="GmtCreateTime", page_number=page, page_size=size)
            body = self.call("ListModelVersions",
                             partial(lambda request: self.get_client().list_model_versions(model_id, request).body.to_map(),
                                     request))
            batch = body.get("Versions") or []
            versions.extend(batch)
            if limit and len(versions) >= limit:
                return versions[:limit]
            if not batch or len(versions) >= int(body.get("TotalCount") or 0):
                return versions
            page += 1

    def get_model_version(self, model_id: str, version_name: str) -> dict:
        request = self._models().GetModelVersionRequest()
        return self.call("GetModelVersion", lambda: self.get_client().get_model_version(
            model_id, version_name, request).body.to_map())

    def latest_version(self, model_id: str, approval_status: str | None = None) -> dict | None:
        """The most recently created version (with that approval status), or None."""
        found = self.list_model_versions(model_id, approval_status=approval_status, order="DESC", limit=1)
        return found[0] if found else None

    def create_model_version(self, model_id: str, *, uri: str, version_name: str | None = None,
                             approval_status: str = "Pending", inference_spec: dict | None = None,
                             metrics: dict | None = None, labels: dict[str, str] | None = None,
                             source_type: str | None = None, source_id: str | None = None,
                             format_type: str | None = None, framework_type: str | None = None,
                             description: str | None = None, is_done=None) -> str:
        """CreateModelVersion; returns the ``VersionName`` (the server numbers it when not given)."""
        models = self._models()
        request = models.CreateModelVersionRequest(
            uri=uri, version_name=version_name, approval_status=approval_status, inference_spec=inference_spec,
            metrics=metrics, labels=[models.Label(key=k, value=v) for k, v in (labels or {}).items()] or None,
            source_type=source_type, source_id=source_id, format_type=format_type,
            framework_type=framework_type, version_description=description)
        body = self.call("CreateModelVersion",
                         lambda: self.get_client().create_model_version(model_id, request).body.to_map(),
                         is_done=is_done)
        if isinstance(body, dict) and body.get("VersionName"):
            return body["VersionName"]
        return str(body)  # is_done answered with the version name of the earlier attempt

    def update_approval(self, model_id: str, version_name: str, approval_status: str) -> dict:
        """UpdateModelVersion with only ``ApprovalStatus`` (idempotent: retried as it is)."""
        if approval_status not in APPROVAL_STATUSES:
            raise ValueError(f"approval_status must be one of {', '.join(APPROVAL_STATUSES)}, got {approval_status!r}")
        request = self._models().UpdateModelVersionRequest(approval_status=approval_status)
        return self.call("UpdateModelVersion", lambda: self.get_client().update_model_version(
            model_id, version_name, request).body.to_map())

    def registry_oss_host(self) -> str:
        """The OSS endpoint a version's ``Uri`` names (``oss://<bucket>.<endpoint>/...``, F-AIW-1).

        The connection's ``oss_endpoint`` when it is an Alibaba Cloud host, else the region's default
        for the connection's OSS endpoint type: PAI reads the URI from the cloud, so a local override
        (the emulator, a proxy) must not end up in the registry.
        """
        from airflow_provider_pai.hooks.endpoints import default_endpoint

        host, _ = self.endpoint("oss")
        if host.split(":", 1)[0].endswith(".aliyuncs.com"):
            return host
        return default_endpoint("oss", self.region_id, self.endpoint_type("oss"))[0]
