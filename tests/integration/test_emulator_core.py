"""The emulator's core (CLI, auth, control API, persistence, pytest fixture) through the real SDKs."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from airflow_provider_pai.emulator.process import EmulatorProcess

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _config(emu, **overrides):
    from alibabacloud_tea_openapi.utils_models import Config

    kw = {"access_key_id": emu.access_key_id, "access_key_secret": emu.access_key_secret,
          "endpoint": emu.url.removeprefix("http://"), "protocol": "http", **overrides}
    return Config(**kw)


def dataworks(emu, **overrides):
    from alibabacloud_dataworks_public20200518.client import Client

    return Client(_config(emu, **overrides))


def eas(emu, **overrides):
    from alibabacloud_eas20210701.client import Client

    return Client(_config(emu, **overrides))


def get_node(emu, node_id=700001, **overrides):
    from alibabacloud_dataworks_public20200518.models import GetNodeRequest

    return dataworks(emu, **overrides).get_node(GetNodeRequest(node_id=node_id, project_env="PROD")).body.data


def describe_service(emu, **overrides):
    return eas(emu, **overrides).describe_service(emu.region_id, "churn_model").body


def bucket(emu, name="pai-demo"):
    import oss2

    return oss2.Bucket(oss2.Auth(emu.access_key_id, emu.access_key_secret), emu.url, name)


def http(method, url, payload=None):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    return _opener.open(req, timeout=30)


# CLI ----------------------------------------------------------------------------------------------


def _listening_addresses(port: int) -> list[str]:
    """Local addresses LISTENing on ``port``, from /proc/net/tcp (hex IPv4, little endian)."""
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        addr, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.append(".".join(str(int(addr[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp")
def test_cli_prints_url_and_listens_on_loopback_only(pai_emulator):
    assert pai_emulator.url.startswith("http://127.0.0.1:")
    assert _listening_addresses(pai_emulator.port) == ["127.0.0.1"]


def test_cli_refuses_non_loopback_host(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "airflow_provider_pai.emulator", "--port", "0", "--data-dir", str(tmp_path),
         "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "loopback" in proc.stderr
    assert "PAI_EMULATOR_URL=" not in proc.stdout


# auth through the full server ---------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", [None, "v2"])
def test_good_credentials_pass_for_dataworks_and_eas(pai_emulator, algorithm):
    assert get_node(pai_emulator, signature_algorithm=algorithm).node_name == "train_churn_model"
    assert describe_service(pai_emulator, signature_algorithm=algorithm).service_name == "churn_model"


@pytest.mark.parametrize("call", [get_node, describe_service])
def test_wrong_secret_refused(pai_emulator, call):
    from Tea.exceptions import TeaException

    with pytest.raises(TeaException) as info:
        call(pai_emulator, access_key_secret="wrong-secret")
    assert (info.value.code, info.value.statusCode) == ("SignatureDoesNotMatch", 400)


@pytest.mark.parametrize("call", [get_node, describe_service])
def test_unknown_access_key_refused(pai_emulator, call):
    from Tea.exceptions import TeaException

    with pytest.raises(TeaException) as info:
        call(pai_emulator, access_key_id="LTAI-unknown")
    assert (info.value.code, info.value.statusCode) == ("InvalidAccessKeyId.NotFound", 404)


class TestSts:
    @pytest.fixture
    def pai_emulator_scenario(self, pai_emulator_scenario):
        pai_emulator_scenario["credentials"] = [
            {"access_key_id": "STS.emulator", "access_key_secret": "sts-secret", "security_token": "sts-token"}]
        return pai_emulator_scenario

    @pytest.mark.parametrize("call", [get_node, describe_service])
    def test_security_token_must_match(self, pai_emulator, call):
        from Tea.exceptions import TeaException

        assert pai_emulator.connection_extra["security_token"] == "sts-token"
        call(pai_emulator, security_token="sts-token")
        with pytest.raises(TeaException) as info:
            call(pai_emulator, security_token="stale-token")
        assert info.value.code == "InvalidSecurityToken.MismatchWithAccessKey"


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
    assert pai_emulator.calls() == {"dataworks": {}, "eas": {}, "oss": {}, "predict": {}}


def test_state_dump_lists_services_and_objects(pai_emulator):
    state = pai_emulator.state()
    assert {"dataworks", "eas", "oss"} <= set(state)
    (obj,) = state["oss"]["pai-demo"]
    content = b'{"weights": [0.3, -1.0], "bias": 0.0}'
    assert obj == {"key": "models/churn/initial/model.json", "size": len(content), "crc64": obj["crc64"]}
    from airflow_provider_pai.emulator.crc64 import crc64

    assert obj["crc64"] == str(crc64(content))


def test_clock_advances(pai_emulator):
    before = pai_emulator.now()
    after = pai_emulator.advance_clock(3600)
    assert after - before >= 3600
    assert pai_emulator.now() >= after


# persistence --------------------------------------------------------------------------------------


def test_restart_keeps_objects_and_state_and_does_not_reseed(pai_emulator):
    b = bucket(pai_emulator)
    b.put_object("runs/new.bin", b"x" * 1000)
    b.delete_object("models/churn/initial/model.json")  # a reseed would bring it back
    offset = pai_emulator.advance_clock(0) - time.time()
    pai_emulator.advance_clock(7200)
    before = pai_emulator.state()
    port = pai_emulator.port

    pai_emulator.restart()
    assert pai_emulator.port == port
    assert (pai_emulator.data_dir / "state.json").exists()
    after = pai_emulator.state()
    assert after["oss"] == before["oss"]
    assert after["dataworks"] == before["dataworks"] and after["eas"] == before["eas"]
    assert after["clock_offset"] >= offset + 7200 - 1
    b = bucket(pai_emulator)
    assert b.get_object("runs/new.bin").read() == b"x" * 1000
    assert not b.object_exists("models/churn/initial/model.json")


# the fixture itself -------------------------------------------------------------------------------


def test_fixture_exposes_a_ready_airflow_connection(pai_emulator):
    conn = json.loads(os.environ["AIRFLOW_CONN_PAI_DEFAULT"])
    assert conn == json.loads(pai_emulator.connection_json())
    assert conn["conn_type"] == "alibaba_cloud_pai"
    assert (conn["login"], conn["password"]) == ("emulator-ak", "emulator-secret")
    assert conn["extra"] == {"region_id": "cn-shanghai", "dataworks_endpoint": pai_emulator.url,
                             "eas_endpoint": pai_emulator.url, "oss_endpoint": pai_emulator.url}
    assert not any(os.environ.get(v) for v in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"))
    env = pai_emulator.airflow_env()
    assert env["AIRFLOW_CONN_PAI_DEFAULT"] == pai_emulator.connection_json() and env["HTTP_PROXY"] == ""
    assert "emulator-secret" not in repr(pai_emulator)


def test_emulator_process_without_pytest(tmp_path):
    with EmulatorProcess(data_dir=tmp_path / "emu") as emu:
        assert get_node(emu).node_name == "train_churn_model"
    assert not emu.running


# load ---------------------------------------------------------------------------------------------


def test_thousand_concurrent_async_get_instance(pai_emulator):
    from alibabacloud_dataworks_public20200518.models import (
        GetInstanceRequest, ListInstancesRequest, RunCycleDagNodesRequest)

    client = dataworks(pai_emulator)
    dag_ids = client.run_cycle_dag_nodes(RunCycleDagNodesRequest(
        name="load", root_node_id=700001, include_node_ids="700001", start_biz_date="2024-01-01 00:00:00",
        end_biz_date="2024-01-01 00:00:00", parallelism=False, project_env="PROD")).body.data
    pai_emulator.advance_clock(60)  # instances are listed a little after the run starts, as on DataWorks
    instances = client.list_instances(ListInstancesRequest(
        project_id=10001, project_env="PROD", dag_id=dag_ids[0])).body.data.instances
    instance_id = instances[0].instance_id

    async def burst():
        request = GetInstanceRequest(instance_id=instance_id, project_env="PROD")
        return await asyncio.gather(*(client.get_instance_async(request) for _ in range(1000)),
                                    return_exceptions=True)

    results = asyncio.run(burst())
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert {r.body.data.instance_id for r in results} == {instance_id}
    assert pai_emulator.calls()["dataworks"]["GetInstance"] == 1000
