"""Link to a model version in PAI's model management (AI Workspace)."""

from __future__ import annotations

from typing import Any

from airflow_provider_pai.links.base import PaiBaseLink


class PaiModelVersionLink(PaiBaseLink):
    """The model's page in the PAI console's model management, on the registered version.

    The console's route for a model version is not in a public document (F-AIW-LINK, unverified): the
    link opens the workspace's model management on the model id and names the version.
    """

    name = "PAI model version"
    key = "pai_model_version"
    format_str = (
        "https://pai.console.aliyun.com/?regionId={region_id}&workspaceId={workspace_id}"
        "#/modelManage/models/{model_id}/versions/{version_name}"
    )

    @classmethod
    def persist(  # type: ignore[override]
        cls, context: Any, *, region_id: str, workspace_id: str, model_id: str, version_name: str, **extra: Any
    ) -> str:
        return super().persist(context, region_id=region_id, workspace_id=workspace_id, model_id=model_id,
                               version_name=version_name, **extra)
