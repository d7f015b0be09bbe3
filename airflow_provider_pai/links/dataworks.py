"""Link to a DataWorks instance in Operation Center."""

from __future__ import annotations

from typing import Any

from airflow_provider_pai.links.base import PaiBaseLink


class DataWorksInstanceLink(PaiBaseLink):
    """DataWorks Operation Center, opened on the run's workspace and environment.

    Operation Center is served from ``workbench2-<region>.data.aliyun.com`` with
    ``defaultProjectId`` and ``env`` in the query (seen in requests to Operation Center's own
    instance list/detail endpoints, e.g. ``https://workbench2-cn-shanghai.data.aliyun.com/?env=prod``,
    and the DataWorks console's ``<module>-<region>.data.aliyun.com/?defaultProjectId=<id>`` links).
    No public source documents a deep link to one instance, so the instance id rides along as a
    query parameter rather than a guessed in-page route.
    """

    name = "DataWorks Operation Center"
    key = "dataworks_instance"
    format_str = (
        "https://workbench2-{region_id}.data.aliyun.com/"
        "?defaultProjectId={project_id}&env={env}&instanceId={instance_id}"
    )

    @classmethod
    def persist(  # type: ignore[override]
        cls, context: Any, *, region_id: str, project_id: int | str, instance_id: int | str,
        project_env: str = "PROD", **extra: Any,
    ) -> str:
        return super().persist(
            context,
            region_id=region_id,
            project_id=project_id,
            instance_id=instance_id,
            env=str(project_env).lower(),
            **extra,
        )
