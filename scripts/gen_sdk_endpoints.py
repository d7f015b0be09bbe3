"""Write ``airflow_provider_pai/hooks/sdk_endpoints.py``: the pinned SDKs' region tables as plain data.

Run after changing the pinned SDK versions (``constraints/``):
``python scripts/gen_sdk_endpoints.py``. ``tests/unit/hooks/test_endpoints.py`` fails while the
file and the installed SDKs disagree.
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from airflow_provider_pai.hooks.endpoints import _SDK_CLIENTS, sdk_endpoint_map  # noqa: E402

TARGET = ROOT / "airflow_provider_pai" / "hooks" / "sdk_endpoints.py"


def render() -> str:
    dists = sorted({module.split(".")[0].replace("_", "-") for clients in _SDK_CLIENTS.values()
                    for module, _ in clients})
    lines = [
        '"""The SDK clients\' region tables (``Client._endpoint_map``), copied as data. Generated: do not edit.',
        "",
        "Written by ``scripts/gen_sdk_endpoints.py`` from:",
        *(f"{d}=={metadata.version(d)}" for d in dists),
        "",
        "Resolving an endpoint or checking a region reads this table instead of importing the SDKs (about",
        "0.5 s per task process for both DataWorks SDKs); a region missing here is looked up in the",
        "installed SDKs (``endpoints.sdk_endpoint_map``), so an SDK upgrade still adds its regions.",
        '"""',
        "",
        "SDK_ENDPOINT_MAPS: dict[str, dict[str, str]] = {",
    ]
    for service in _SDK_CLIENTS:
        lines.append(f"    {service!r}: {{")
        for region, host in sorted(sdk_endpoint_map(service).items()):
            lines.append(f"        {region!r}: {host!r},")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET.relative_to(ROOT)}")
