"""Connection extras checked when the hook reads the connection: enumerated values and region_id."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.hooks.errors import classify, error_hint, is_retryable, transport_code
from airflow_provider_pai.hooks.extras import enumerated_extras, known_regions
from tests.unit.hooks.sdk_errors import failing, make_hook


@pytest.mark.parametrize(
    "extra, value, suggestion",
    [
        ("endpoint_type", "vcp", "vpc"),
        ("auth_type", "acess_key", "access_key"),
        ("dataworks_api_version", "2024-5-18", "2024-05-18"),
        ("protocol", "htps", "https"),
        ("oss_endpoint_type", "publik", "public"),
    ],
)
def test_a_typo_in_an_enumerated_extra_fails_when_the_connection_is_read(monkeypatch, extra, value, suggestion):
    # Endpoints point at a local host: nothing else would ever read endpoint_type (the emulator case).
    hook = make_hook(monkeypatch, **{extra: value, "dataworks_endpoint": "127.0.0.1:1", "eas_endpoint": "127.0.0.1:1",
                                     "oss_endpoint": "127.0.0.1:1"})
    with pytest.raises(AirflowException) as info:
        hook.extras
    text = str(info.value)
    assert f"extra {extra} is {value!r}" in text and f"did you mean {suggestion!r}" in text
    assert all(choice in text for choice in enumerated_extras()[extra])


def test_every_enumerated_extra_is_checked_and_case_is_forgiven(monkeypatch):
    assert set(enumerated_extras()) >= {"auth_type", "endpoint_type", "dataworks_api_version", "protocol",
                                        "dataworks_endpoint_type", "eas_endpoint_type", "oss_endpoint_type"}
    hook = make_hook(monkeypatch, endpoint_type="VPC", protocol="HTTP", dataworks_api_version="Auto")
    assert hook.extras["endpoint_type"] == "VPC"


@pytest.mark.parametrize("where", ["extra", "hook"])
def test_a_region_typo_is_refused_with_the_closest_region(monkeypatch, where):
    if where == "extra":
        hook = make_hook(monkeypatch, region_id="cn-hangzou", eas_endpoint="127.0.0.1:1")
    else:
        from airflow_provider_pai.hooks.base import AlibabaCloudBaseHook

        make_hook(monkeypatch)
        hook = AlibabaCloudBaseHook(pai_conn_id="pai_test", region_id="cn-hangzou")
    with pytest.raises(AirflowException) as info:
        hook.region_id
    text = str(info.value)
    assert "region_id 'cn-hangzou'" in text and "did you mean 'cn-hangzhou'" in text
    assert ("passed to the hook" in text) is (where == "hook")


def test_known_regions_hold_every_sdk_region_and_the_documented_ones():
    from airflow_provider_pai.hooks.endpoints import sdk_endpoint_map

    regions = known_regions()
    assert set(sdk_endpoint_map("eas")) <= regions and set(sdk_endpoint_map("dataworks")) <= regions
    assert {"cn-guangzhou", "cn-nanjing", "cn-hangzhou"} <= regions and "cn-hangzou" not in regions


# ---- DNS: a name that does not exist fails at once; a temporary resolver failure is retried ----------

_REQUESTS_NONAME = ("HTTPSConnectionPool(host='pai-eas.cn-hangzou.aliyuncs.com', port=443): Max retries exceeded "
                    "with url: /api/v2/services (Caused by NameResolutionError(\"HTTPSConnection(host='pai-eas."
                    "cn-hangzou.aliyuncs.com', port=443): Failed to resolve 'pai-eas.cn-hangzou.aliyuncs.com' "
                    "([Errno -2] Name or service not known)\"))")
_AIOHTTP_NONAME = ("Cannot connect to host pai-eas.cn-hangzou.aliyuncs.com:443 ssl:default "
                   "[Name or service not known]")
_MAC_NONAME = "[Errno 8] nodename nor servname provided, or not known"
_AGAIN = ("HTTPSConnectionPool(host='pai-eas.cn-hangzhou.aliyuncs.com', port=443): Failed to resolve "
          "'pai-eas.cn-hangzhou.aliyuncs.com' ([Errno -3] Temporary failure in name resolution)")


@pytest.mark.parametrize("text", [_REQUESTS_NONAME, _AIOHTTP_NONAME, _MAC_NONAME])
def test_a_host_that_does_not_exist_is_dns_not_found_and_not_retried(text):
    assert transport_code(text) == "DNSNotFound"
    assert not is_retryable("DNSNotFound", None)


def test_a_temporary_resolver_failure_stays_a_retried_connection_error():
    assert transport_code(_AGAIN) == "ConnectionError" and is_retryable("ConnectionError", None)
    hint = error_hint("DescribeService", "ConnectionError", "pai_x", "eas", _AGAIN, "cn-hangzhou")
    assert "region_id cn-hangzhou" in hint and "pai-eas.cn-hangzhou.aliyuncs.com" in hint


@pytest.mark.parametrize("wrap", ["darabonba", "requests", "gaierror"])
def test_the_hook_fails_a_dns_not_found_at_once_naming_region_id_and_the_host(monkeypatch, wrap):
    import socket

    if wrap == "darabonba":
        from darabonba.exceptions import RetryError

        exc: Exception = RetryError(_REQUESTS_NONAME)
    elif wrap == "requests":
        import requests

        exc = requests.exceptions.ConnectionError(_REQUESTS_NONAME)
    else:
        exc = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert classify(exc)[0] == "DNSNotFound"
    sleeps: list[float] = []
    hook = make_hook(monkeypatch, sleeps, region_id="cn-hangzhou")
    hook.service = "eas"
    fn = failing([exc])
    with pytest.raises(Exception) as info:
        hook.call("DescribeService", fn)
    text = str(info.value)
    assert len(fn.calls) == 1 and sleeps == []
    # The host the resolver named, else (a bare gaierror names none) the endpoint the hook called.
    host = "pai-eas.cn-hangzhou.aliyuncs.com" if wrap == "gaierror" else "pai-eas.cn-hangzou.aliyuncs.com"
    assert "DNSNotFound" in text and "region_id cn-hangzhou" in text and f"the host {host} does not exist" in text


def test_the_hook_retries_a_temporary_resolver_failure(monkeypatch):
    import socket

    sleeps: list[float] = []
    hook = make_hook(monkeypatch, sleeps)
    fn = failing([socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")])
    assert hook.call("DescribeService", fn) == "ok"
    assert len(fn.calls) == 2 and len(sleeps) == 1
