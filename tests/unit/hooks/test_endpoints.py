"""Default endpoints: the SDKs' region tables (the one SDK-private read) and the documented patterns."""

from __future__ import annotations

import pytest

from airflow_provider_pai.hooks.endpoints import sdk_endpoint_map


@pytest.mark.parametrize(
    "service, region, host",
    [
        ("dataworks", "cn-shanghai", "dataworks.cn-shanghai.aliyuncs.com"),
        ("dataworks", "cn-huhehaote", "dataworks.aliyuncs.com"),
        ("eas", "cn-zhangjiakou", "pai-eas.cn-zhangjiakou.aliyuncs.com"),
        ("eas", "cn-north-2-gov-1", "pai-eas.cn-north-2-gov-1.aliyuncs.com"),
    ],
)
def test_sdk_endpoint_tables_are_readable(service, region, host):
    """Fails loudly if an SDK upgrade renames or empties the private ``Client._endpoint_map``."""
    table = sdk_endpoint_map(service)
    assert table.get(region) == host
    assert all(isinstance(k, str) and isinstance(v, str) and v.endswith(".aliyuncs.com") for k, v in table.items())


def test_the_eas_sdk_table_has_its_fifteen_regions():
    assert len(sdk_endpoint_map("eas")) >= 15


def test_oss_has_no_sdk_table():
    assert sdk_endpoint_map("oss") == {}


# The official EAS endpoint table lists these regions; the pinned SDK's table does not (F-END-EAS4).
EAS_DOCUMENTED_ONLY = ("cn-wulanchabu", "cn-heyuan", "cn-guangzhou", "ap-northeast-1", "ap-northeast-2",
                       "ap-southeast-3")


@pytest.mark.parametrize("region", EAS_DOCUMENTED_ONLY)
def test_eas_regions_of_the_official_endpoint_table_get_its_hosts_without_a_warning(region):
    from airflow_provider_pai.hooks.endpoints import default_endpoint

    assert region not in sdk_endpoint_map("eas")  # else this test proves nothing: drop the region from the list
    assert default_endpoint("eas", region, "public") == (f"pai-eas.{region}.aliyuncs.com", None)
    assert default_endpoint("eas", region, "vpc") == (f"pai-eas-manage-vpc.{region}.aliyuncs.com", None)


def test_a_region_in_no_table_still_warns_naming_the_fix():
    from airflow_provider_pai.hooks.endpoints import default_endpoint

    host, warning = default_endpoint("eas", "xx-nowhere-1", "public")
    assert host == "pai-eas.xx-nowhere-1.aliyuncs.com"
    assert "xx-nowhere-1" in warning and "eas_endpoint" in warning
    # the documented regions are EAS's: DataWorks does not inherit them
    assert default_endpoint("dataworks", "xx-nowhere-1", "public")[1]


@pytest.mark.parametrize("service", ["dataworks", "eas", "aiworkspace"])
def test_the_shipped_tables_are_the_pinned_sdks_tables(service):
    """``hooks/sdk_endpoints.py`` is what the installed SDKs ship; regenerate it after an SDK upgrade."""
    from airflow_provider_pai.hooks.sdk_endpoints import SDK_ENDPOINT_MAPS

    assert SDK_ENDPOINT_MAPS[service] == sdk_endpoint_map(service), (
        "hooks/sdk_endpoints.py is stale: run python scripts/gen_sdk_endpoints.py")


NO_SDK_CHILD = """
import sys
from airflow_provider_pai.hooks.endpoints import default_endpoint
from airflow_provider_pai.hooks.extras import check_region
check_region("pai_default", "cn-shanghai", "the connection")
check_region("pai_default", "cn-wulanchabu", "the connection")
hosts = [default_endpoint(s, "cn-shanghai", t)[0] for s in ("dataworks", "eas", "oss", "aiworkspace")
         for t in ("public", "vpc")]
print(hosts[0], sorted({m.split(".")[0] for m in sys.modules if m.startswith(("alibabacloud", "Tea", "oss2"))}))
"""


def test_checking_a_region_and_resolving_an_endpoint_import_no_sdk():
    """Every task process checks its region and resolves endpoints: importing both DataWorks SDKs for
    that cost about 0.5 s each time (docs/benchmarks.md, "End to end")."""
    from tests.fresh_python import last_line

    assert last_line(NO_SDK_CHILD) == "dataworks.cn-shanghai.aliyuncs.com []"


def test_a_region_only_a_newer_sdk_knows_is_still_found_in_the_installed_sdks(monkeypatch):
    """A region missing from the shipped copy is looked up in the installed SDKs, as before the copy."""
    from airflow_provider_pai.hooks import sdk_endpoints
    from airflow_provider_pai.hooks.endpoints import default_endpoint
    from airflow_provider_pai.hooks.extras import check_region

    monkeypatch.setitem(sdk_endpoints.SDK_ENDPOINT_MAPS, "eas", {})
    monkeypatch.setitem(sdk_endpoints.SDK_ENDPOINT_MAPS, "dataworks", {})
    assert default_endpoint("eas", "cn-zhangjiakou", "public") == ("pai-eas.cn-zhangjiakou.aliyuncs.com", None)
    check_region("pai_default", "cn-north-2-gov-1", "the connection")  # in the EAS SDK's table only
