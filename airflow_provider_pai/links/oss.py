"""Link to an export's destination in the OSS console."""

from __future__ import annotations

from typing import Any

from airflow_provider_pai.links.base import PaiBaseLink


class OssObjectLink(PaiBaseLink):
    """The OSS console's object list of a bucket, opened at a prefix.

    ``https://oss.console.aliyun.com/bucket/oss-<region>/<bucket>/object?path=<prefix>``, the form
    Alibaba Cloud's own API answers use for a bucket location (docs/cloud-fidelity.md, F-LINK-1).
    The region is the connection's (an export copies within one region).
    """

    name = "OSS destination"
    key = "oss_destination"
    format_str = "https://oss.console.aliyun.com/bucket/oss-{region_id}/{bucket}/object?path={prefix}"

    @classmethod
    def persist(  # type: ignore[override]
        cls, context: Any, *, region_id: str, bucket: str, prefix: str, **extra: Any
    ) -> str:
        return super().persist(context, region_id=region_id, bucket=bucket, prefix=prefix, **extra)
