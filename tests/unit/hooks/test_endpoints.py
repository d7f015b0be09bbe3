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
