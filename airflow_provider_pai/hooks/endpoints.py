"""Default endpoints per service and region, from the SDKs' own endpoint tables.

Pure functions of (service, region): no connection, no network. The region tables come from
``sdk_endpoints.py`` (the pinned SDKs' tables as data); SDK modules are imported only inside
``sdk_endpoint_map``, for a region missing there: importing both DataWorks SDKs to check a region
cost every task process about 0.5 s (docs/benchmarks.md, "End to end").
"""

from __future__ import annotations

import functools

SERVICES = ("dataworks", "eas", "oss", "aiworkspace")

# The SDK client classes whose constructor fills the region table (module, class).
_SDK_CLIENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "dataworks": (
        ("alibabacloud_dataworks_public20200518.client", "Client"),
        ("alibabacloud_dataworks_public20240518.client", "Client"),
    ),
    "eas": (("alibabacloud_eas20210701.client", "Client"),),
    "aiworkspace": (("alibabacloud_aiworkspace20210204.client", "Client"),),
}
# Services whose SDK endpoint rule is "regional": the table lists only exceptions, every other region
# is served at the pattern, so a region missing from the table needs no warning (F-END-AIW1).
_REGIONAL_RULE = {"aiworkspace"}


def endpoint_host(service: str, region: str) -> str | None:
    """The SDK table's host for ``region``: the shipped copy, else the installed SDKs (a newer region).

    A "regional" service's table lists exceptions only, so a region missing there is the usual case
    and is not looked up again (it is served at the pattern).
    """
    from airflow_provider_pai.hooks.sdk_endpoints import SDK_ENDPOINT_MAPS

    host = SDK_ENDPOINT_MAPS.get(service, {}).get(region)
    if host is None and service in _SDK_CLIENTS and service not in _REGIONAL_RULE:
        host = sdk_endpoint_map(service).get(region)
    return host


@functools.cache
def sdk_endpoint_map(service: str) -> dict[str, str]:
    """``{region: host}`` as the service's SDK clients ship it (the union over API versions).

    The only place that reads an SDK-private attribute: the Tea SDK clients keep their region table
    in ``Client._endpoint_map``, set in ``__init__``, with no public accessor (``get_endpoint``
    takes the map as an argument). A throwaway client with a dummy key and endpoint sends nothing.
    ``tests/unit/hooks/test_endpoints.py`` fails loudly if an SDK upgrade renames or empties it.
    """
    import importlib

    from alibabacloud_tea_openapi.models import Config

    table: dict[str, str] = {}
    for module_name, class_name in _SDK_CLIENTS.get(service, ()):
        try:
            client_class = getattr(importlib.import_module(module_name), class_name)
        except ImportError:  # an optional API version that is not installed
            continue
        client = client_class(Config(access_key_id="unused", access_key_secret="unused", endpoint="unused.invalid"))
        for region, host in (getattr(client, "_endpoint_map", None) or {}).items():
            table.setdefault(region, host.strip())  # one aiworkspace entry ends in a tab
    return table


ENDPOINT_TYPES = ("public", "vpc")
# Documented host patterns per (service, endpoint type); rows in docs/cloud-fidelity.md.
_PATTERNS = {
    ("dataworks", "public"): "dataworks.{region}.aliyuncs.com",  # F-END-DW1
    ("dataworks", "vpc"): "dataworks-vpc.{region}.aliyuncs.com",  # F-END-DW2
    ("eas", "public"): "pai-eas.{region}.aliyuncs.com",  # F-END-EAS1
    ("eas", "vpc"): "pai-eas-manage-vpc.{region}.aliyuncs.com",  # F-END-EAS2
    ("aiworkspace", "public"): "aiworkspace.{region}.aliyuncs.com",  # F-END-AIW1
    ("aiworkspace", "vpc"): "aiworkspace-vpc.{region}.aliyuncs.com",  # F-END-AIW2
    ("oss", "public"): "oss-{region}.aliyuncs.com",  # F-END-OSS1
    ("oss", "vpc"): "oss-{region}-internal.aliyuncs.com",  # F-END-OSS2
}
# Regions the service's official endpoint table lists although its pinned SDK's table does not: the
# pattern is the documented host there, so no warning (F-END-EAS4).
_DOCUMENTED_REGIONS: dict[str, frozenset[str]] = {
    "eas": frozenset({"cn-wulanchabu", "cn-heyuan", "cn-guangzhou", "ap-northeast-1", "ap-northeast-2",
                      "ap-southeast-3"}),
}
# DataWorks serves these regions from its central endpoint and lists no VPC endpoint (F-END-DW3).
_CENTRAL_DATAWORKS = "dataworks.aliyuncs.com"


class EndpointError(ValueError):
    """An endpoint setting that cannot work; the message names the extra and the fix."""


def default_endpoint(service: str, region: str, endpoint_type: str = "public") -> tuple[str, str | None]:
    """(host, warning or None): the SDK table's host for a public endpoint, else the documented pattern.

    The warning says when the region is in no SDK table and not in the service's official endpoint
    table either (the pattern is then a best guess).
    """
    if service not in SERVICES:
        raise ValueError(f"service must be one of {', '.join(SERVICES)}, got {service!r}")
    if endpoint_type not in ENDPOINT_TYPES:
        raise ValueError(f"endpoint_type must be one of {', '.join(ENDPOINT_TYPES)}, got {endpoint_type!r}")
    pattern = _PATTERNS[(service, endpoint_type)].format(region=region)
    if service == "oss":  # one documented pattern for every region; oss2 has no table
        return pattern, None
    known = endpoint_host(service, region)
    if known is None and service in _REGIONAL_RULE:
        return pattern, None
    if known is None:
        if region in _DOCUMENTED_REGIONS.get(service, ()):
            return pattern, None
        return pattern, (
            f"region {region!r} is in no {service} SDK endpoint table (known: "
            f"{', '.join(sorted(sdk_endpoint_map(service)))}); "
            f"using the documented pattern {pattern}: set {service}_endpoint if that host does not answer"
        )
    if endpoint_type == "public":
        return known, None
    if service == "dataworks" and known == _CENTRAL_DATAWORKS:
        raise EndpointError(
            f"DataWorks lists no VPC endpoint for region {region!r} (it is served by {_CENTRAL_DATAWORKS}): "
            f"set dataworks_endpoint_type to public, or dataworks_endpoint to the host to use"
        )
    return pattern, None


def parse_endpoint(value: str, default_protocol: str, extra_name: str) -> tuple[str, str]:
    """("host[:port]", protocol) from ``host[:port]`` or ``scheme://host[:port]``; refuses anything else.

    The SDKs send every request to the endpoint's root (RPC ``/``, ROA ``/api/v2/...``, OSS
    ``/<bucket>/<key>``), so a path cannot be honoured: it is refused rather than silently dropped.
    """
    text = value.strip()
    if "://" in text:
        from urllib.parse import urlsplit

        parts = urlsplit(text)
        host, path, extra, protocol = parts.netloc, parts.path, parts.query or parts.fragment, parts.scheme.lower()
    else:
        host, _, path = text.partition("/")
        path, extra, protocol = "/" + path if path else "", "", default_protocol
    if "@" in host:  # checked first: the value may hold a secret, so it is not echoed
        raise EndpointError(f"{extra_name}: give host[:port] without user or password (credentials go in "
                            f"login/password)")
    if protocol not in ("http", "https"):
        raise EndpointError(f"{extra_name} {value!r}: the scheme must be http or https, got {protocol!r}")
    if path.strip("/") or extra:
        raise EndpointError(
            f"{extra_name} {value!r} has a path or query ({(path + ('?' + extra if extra else '')).strip()!r}): "
            f"the SDKs send requests to the endpoint's root, so give host[:port] or scheme://host[:port]"
        )
    if not host:
        raise EndpointError(f"{extra_name} {value!r} names no host: give host[:port] or scheme://host[:port]")
    return host, protocol
