"""The emulator's core (CLI, auth, persistence, state/clock control, pytest fixture) through the real SDKs."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_provider_pai.emulator.process import EmulatorProcess
from tests.emulator.emulator_clients import bucket, dataworks, describe_service, get_node
from tests.scenarios import json_linear_demo


@pytest.fixture
def pai_emulator_scenario():
    """These tests use the toy json_linear model ([x1, x2] vectors, model.json): tests/scenarios.py."""
    return json_linear_demo()


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


# state, clock --------------------------------------------------------------------------------


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
                             "eas_endpoint": pai_emulator.url, "oss_endpoint": pai_emulator.url,
                             "aiworkspace_endpoint": pai_emulator.url}
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
