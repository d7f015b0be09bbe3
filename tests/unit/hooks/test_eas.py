"""EasHook.predict's endpoint choice (public / vpc) and which gateway answers are retried."""

from __future__ import annotations

import pytest

from airflow_provider_pai.hooks.eas import PREDICT_RETRY_STATUSES, EasHook
from airflow_provider_pai.hooks.errors import PaiApiError
from tests.unit.hooks.sdk_errors import set_conn

SERVICE = {"InternetEndpoint": "http://1.example.com/api/predict/svc",
           "IntranetEndpoint": "http://pai-eas-vpc.cn-shanghai.aliyuncs.com/api/predict/svc", "Status": "Running"}


def hook(monkeypatch, **extra) -> EasHook:
    return EasHook(pai_conn_id=set_conn(monkeypatch, **extra))


def test_public_uses_the_internet_endpoint(monkeypatch):
    assert hook(monkeypatch)._predict_url("svc", SERVICE) == SERVICE["InternetEndpoint"]


@pytest.mark.parametrize("extra", [{"endpoint_type": "vpc"}, {"eas_endpoint_type": "vpc"}])
def test_vpc_uses_the_intranet_endpoint(monkeypatch, extra):
    assert hook(monkeypatch, **extra)._predict_url("svc", SERVICE) == SERVICE["IntranetEndpoint"]


def test_vpc_without_an_intranet_endpoint_is_an_error_not_a_silent_internet_call(monkeypatch):
    with pytest.raises(PaiApiError, match="no IntranetEndpoint"):
        hook(monkeypatch, endpoint_type="vpc")._predict_url("svc", {"InternetEndpoint": "http://x/y"})


def test_a_bare_host_gets_http(monkeypatch):
    assert hook(monkeypatch)._predict_url("svc", {"InternetEndpoint": "1.example.com/api/predict/svc"}) == \
        "http://1.example.com/api/predict/svc"


def test_exactly_the_documented_transient_statuses_are_retried():
    assert set(PREDICT_RETRY_STATUSES) == {408, 429, 450, 502, 503, 504}
