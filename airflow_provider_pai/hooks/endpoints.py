"""Default endpoints per service and region, from the SDKs' own endpoint tables.

Pure functions of (service, region): no connection, no network. SDK modules are imported only
inside ``sdk_endpoint_map`` (DAG files importing operators must parse fast).
"""

from __future__ import annotations

import functools

SERVICES = ("dataworks", "eas", "oss")

# The SDK client classes whose constructor fills the region table (module, class).
_SDK_CLIENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "dataworks": (
        ("alibabacloud_dataworks_public20200518.client", "Client"),
        ("alibabacloud_dataworks_public20240518.client", "Client"),
    ),
    "eas": (("alibabacloud_eas20210701.client", "Client"),),
}


@functools.lru_cache(maxsize=None)
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
            table.setdefault(region, host)
    return table
