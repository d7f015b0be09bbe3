"""Link to a PAI-EAS service's detail page in the PAI console."""

from __future__ import annotations

from typing import Any

from airflow_provider_pai.links.base import PaiBaseLink


class EasServiceLink(PaiBaseLink):
    """The EAS service detail page.

    URL pattern from Alibaba's own PAI Python SDK (aliyun/pai-python-sdk, ``pai/predictor.py``,
    ``_PAI_SERVICE_CONSOLE_URI_PATTERN``). ``workspaceId`` comes from DescribeService's
    ``WorkspaceId``; it is left out when unknown (the console then opens its default workspace).
    """

    name = "EAS service"
    key = "eas_service"
    format_str = (
        "https://pai.console.aliyun.com/?regionId={region_id}&workspaceId={workspace_id}"
        "#/eas/serviceDetail/{service_name}/detail"
    )

    @classmethod
    def format_link(cls, **fields: Any) -> str:
        return super().format_link(**fields).replace("&workspaceId=#", "#")

    @classmethod
    def persist(  # type: ignore[override]
        cls, context: Any, *, region_id: str, service_name: str, workspace_id: str | None = None,
        **extra: Any,
    ) -> str:
        return super().persist(
            context,
            region_id=region_id,
            service_name=service_name,
            workspace_id=workspace_id or "",
            **extra,
        )
