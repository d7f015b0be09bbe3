"""The emulator's fault injection and call counting (``/_emulator/faults``, ``/_emulator/calls``)."""

from __future__ import annotations

import time
import urllib.error

import pytest

from tests.emulator.emulator_clients import bucket, describe_service, get_node, http
from tests.scenarios import json_linear_demo


@pytest.fixture
def pai_emulator_scenario():
    """These tests use the toy json_linear model ([x1, x2] vectors, model.json): tests/scenarios.py."""
    return json_linear_demo()


# faults -------------------------------------------------------------------------------------------


def test_throttle_dataworks_is_429_throttling_user_with_retry_after(pai_emulator):
    from alibabacloud_tea_openapi.exceptions import ThrottlingException

    rule = pai_emulator.fault(service="dataworks", action="GetNode", kind="throttle", retry_after=2)
    assert rule["id"] >= 1 and rule["kind"] == "throttle"
    with pytest.raises(ThrottlingException) as info:
        get_node(pai_emulator)
    assert (info.value.code, info.value.status_code, info.value.retry_after) == ("Throttling.User", 429, 2)


def test_throttle_eas_is_400_throttling_user(pai_emulator):
    from alibabacloud_tea_openapi.exceptions import ClientException

    pai_emulator.fault(service="eas", kind="throttle")
    with pytest.raises(ClientException) as info:
        describe_service(pai_emulator)
    assert (info.value.code, info.value.status_code) == ("Throttling.User", 400)
    assert "user flow control" in info.value.message


def test_throttle_and_error_oss_are_xml_errors(pai_emulator):
    import oss2

    rule = pai_emulator.fault(service="oss", action="*", kind="throttle", count=1)
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket(pai_emulator).get_object("models/churn/initial/model.json").read()
    assert (info.value.status, info.value.code) == (503, "ServiceUnavailable")
    pai_emulator.fault(service="oss", kind="error", count=1)
    with pytest.raises(oss2.exceptions.ServerError) as info:
        bucket(pai_emulator).get_object("models/churn/initial/model.json").read()
    assert (info.value.status, info.value.code) == (500, "InternalError")
    assert [r["injected"] for r in pai_emulator.faults() if r["id"] == rule["id"]] == [1]


def test_error_fault_acs_and_predict(pai_emulator):
    from alibabacloud_tea_openapi.exceptions import ServerException

    pai_emulator.fault(service="eas", action="DescribeService", kind="error")
    with pytest.raises(ServerException) as info:
        describe_service(pai_emulator)
    assert (info.value.code, info.value.status_code) == ("InternalError", 500)
    pai_emulator.fault(service="predict", kind="error")
    with pytest.raises(urllib.error.HTTPError) as err:
        http("POST", f"{pai_emulator.url}/api/predict/churn_model", {"instances": [[1, 2]]})
    assert err.value.code == 500 and err.value.read() == b"InternalError"


def test_reset_drops_the_connection_without_a_response(pai_emulator):
    from darabonba.exceptions import UnretryableException

    pai_emulator.fault(service="dataworks", action="GetNode", kind="reset", count=1)
    with pytest.raises(UnretryableException):
        get_node(pai_emulator)
    assert get_node(pai_emulator).node_id == 700001  # count=1: the next call is served


def test_delay_then_serves_normally(pai_emulator):
    pai_emulator.fault(service="eas", action="DescribeService", kind="delay", delay_s=0.3, count=1)
    started = time.monotonic()
    assert describe_service(pai_emulator).service_name == "churn_model"
    assert time.monotonic() - started >= 0.3  # a lower bound only: the sleep happened
    assert pai_emulator.faults()[0]["injected"] == 1


def test_count_limits_injections_and_matching_is_by_service_and_action(pai_emulator):
    from Tea.exceptions import TeaException

    pai_emulator.fault(service="dataworks", action="GetNode", kind="error", count=2)
    assert describe_service(pai_emulator).service_name == "churn_model"  # other service untouched
    outcomes = []
    for _ in range(4):
        try:
            get_node(pai_emulator)
            outcomes.append("ok")
        except TeaException as e:
            outcomes.append(e.code)
    assert outcomes == ["InternalError", "InternalError", "ok", "ok"]


def test_rate_is_a_probability_per_call(pai_emulator):
    from Tea.exceptions import TeaException

    pai_emulator.fault(service="*", action="GetNode", kind="error", rate=0.0)
    assert get_node(pai_emulator).node_id == 700001
    pai_emulator.clear_faults()
    pai_emulator.fault(service="dataworks", action="GetNode", kind="error", rate=0.5)
    failures = 0
    for _ in range(200):
        try:
            get_node(pai_emulator)
        except TeaException:
            failures += 1
    # Binomial(200, 0.5): outside [50, 150] has probability < 1e-12.
    assert 50 <= failures <= 150
    pai_emulator.clear_faults()
    assert pai_emulator.faults() == []
    assert get_node(pai_emulator).node_id == 700001


def test_bad_fault_rule_is_refused(pai_emulator):
    with pytest.raises(urllib.error.HTTPError) as err:
        pai_emulator.fault(service="dataworks", kind="explode")
    assert err.value.code == 400 and b"kind" in err.value.read()


# call counts, state, clock ------------------------------------------------------------------------


def test_calls_counted_per_service_and_action_including_faulted(pai_emulator):
    from Tea.exceptions import TeaException

    get_node(pai_emulator)
    get_node(pai_emulator)
    describe_service(pai_emulator)
    bucket(pai_emulator).get_object("models/churn/initial/model.json").read()
    pai_emulator.fault(service="dataworks", kind="throttle", count=1)
    with pytest.raises(TeaException):
        get_node(pai_emulator)
    pai_emulator.state()  # control calls are not counted
    calls = pai_emulator.calls()
    assert calls["dataworks"] == {"GetNode": 3}
    assert calls["eas"] == {"DescribeService": 1}
    assert sum(calls["oss"].values()) == 1
    assert calls["predict"] == {}
    pai_emulator.reset_calls()
    assert pai_emulator.calls() == {"dataworks": {}, "eas": {}, "oss": {}, "predict": {}, "aiworkspace": {}}
