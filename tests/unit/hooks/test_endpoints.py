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
