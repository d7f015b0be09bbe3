"""Checks of a connection's extras when a hook reads it: enumerated values and the region id.

A typo in an enumerated extra (``endpoint_type='vcp'``) or in ``region_id`` (``cn-hangzou``) must fail
before the first remote call, naming the extra, its valid values and the closest one: with endpoint
overrides nothing else would notice (the emulator, a private endpoint), and without them the typo
only shows as a DNS failure. Pure functions; a known region is checked against the shipped tables
(``endpoints.endpoint_host``); the SDK modules are imported only for a region missing there.
"""

from __future__ import annotations

import difflib
import functools
from typing import Any, Iterable

from airflow.providers.common.compat.sdk import AirflowException

# Regions listed by the public documentation but possibly missing from the SDKs' endpoint tables
# (rows F-REG-1 and F-REG-2 in docs/cloud-fidelity.md):
#   OSS regions and endpoints: https://www.alibabacloud.com/help/en/oss/user-guide/regions-and-endpoints
#   DataWorks endpoints: https://www.alibabacloud.com/help/en/dataworks/developer-reference/api-dataworks-public-2020-05-18-endpoint
DOCUMENTED_REGIONS = (
    "cn-hangzhou", "cn-shanghai", "cn-nanjing", "cn-fuzhou", "cn-wuhan-lr", "cn-qingdao", "cn-beijing",
    "cn-zhangjiakou", "cn-huhehaote", "cn-wulanchabu", "cn-shenzhen", "cn-heyuan", "cn-guangzhou",
    "cn-chengdu", "cn-hongkong", "ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-3",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "eu-central-1", "eu-west-1", "us-west-1",
    "us-east-1", "me-east-1", "me-central-1", "na-south-1",
)


def _enum(name: str) -> tuple[str, ...]:
    from airflow_provider_pai.get_provider_info import CONN_FIELDS

    return tuple(CONN_FIELDS[name]["schema"]["enum"])


@functools.lru_cache(maxsize=None)
def enumerated_extras() -> dict[str, tuple[str, ...]]:
    """Every extra with a fixed set of values: the connection type's declared enums, one source."""
    values = {name: _enum(name) for name in ("auth_type", "endpoint_type", "dataworks_api_version", "protocol")}
    for service in ("dataworks", "eas", "oss"):  # per-service overrides of endpoint_type
        values[f"{service}_endpoint_type"] = values["endpoint_type"]
    return values


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" for the closest choice, or "" when none is close."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_enumerated_extras(conn_id: str, extras: dict[str, Any]) -> None:
    """Raise naming the first enumerated extra whose value is not one of its values (case-insensitive)."""
    for name, choices in enumerated_extras().items():
        raw = extras.get(name)
        if raw is None or raw == "":
            continue  # not set: the hook's default applies
        value = str(raw).strip().lower()
        if value not in choices:
            raise AirflowException(
                f"Connection '{conn_id}': extra {name} is {str(raw)!r}; valid: "
                f"{', '.join(choices)}{did_you_mean(value, choices)}. Fix the extra {name} of the connection."
            )


@functools.lru_cache(maxsize=None)
def known_regions() -> frozenset[str]:
    """The SDKs' endpoint tables (DataWorks, EAS) and the documented region list."""
    from airflow_provider_pai.hooks.endpoints import sdk_endpoint_map

    regions = set(DOCUMENTED_REGIONS)
    for service in ("dataworks", "eas"):
        regions.update(sdk_endpoint_map(service))
    return frozenset(regions)


def check_region(conn_id: str, region: str, source: str) -> None:
    """Refuse a region id that no SDK table and no documented list knows (``source``: where it was set)."""
    from airflow_provider_pai.hooks.endpoints import endpoint_host

    # endpoint_host reads the shipped tables, and the installed SDKs only for a region missing there
    if region in DOCUMENTED_REGIONS or any(endpoint_host(s, region) for s in ("dataworks", "eas")):
        return
    regions = known_regions()
    public = sorted(r for r in regions if r in DOCUMENTED_REGIONS)
    raise AirflowException(
        f"Connection '{conn_id}': region_id {region!r} ({source}) is not an Alibaba Cloud region"
        f"{did_you_mean(region, regions)}. Set region_id to one of the regions (e.g. {', '.join(public)}); "
        f"a region newer than the installed SDKs needs them upgraded "
        f"(pip install -U alibabacloud-eas20210701 alibabacloud-dataworks-public20240518)."
    )
