"""Each hook against the emulator through the real SDKs (Tea/darabonba over HTTP, oss2)."""

from __future__ import annotations

import datetime
import json
import os

import pytest

from airflow_provider_pai.hooks.base import PaiApiError
from airflow_provider_pai.hooks.dataworks import DataWorksHook
from airflow_provider_pai.hooks.eas import EasHook
from airflow_provider_pai.hooks.oss import OssHook

PROJECT_ID, NODE_ID = 10001, 700001
YESTERDAY = (datetime.date.today() - datetime.timedelta(days=1)).strftime("%Y%m%d")


def hooks(cls, **kwargs):
    # Injected sleep: retries happen for real against the emulator, without wall-clock waits.
    sleeps: list[float] = []
    hook = cls(sleep=sleeps.append, **kwargs)
    hook.sleeps = sleeps
    return hook


def instances_of(emu, hook, dag_id):
    """ListInstances until the DAG's instances show up (they appear a little after the run call)."""
    for _ in range(30):
        found = hook.list_instances(project_id=PROJECT_ID, dag_id=dag_id)
        if found:
            return found
        emu.advance_clock(1)
    raise AssertionError(f"no instances for DAG {dag_id}")


def calls_of(emu, service, action):
    return (emu.calls().get(service) or {}).get(action, 0)


# ---- DataWorks ----------------------------------------------------------------------------------


def test_dataworks_run_follow_and_read_log(pai_emulator):
    hook = hooks(DataWorksHook)
    node = hook.get_node(NODE_ID)
    assert node["NodeName"] == "train_churn_model"

    dag_ids = hook.run_cycle_dag_nodes(node_id=NODE_ID, bizdate=YESTERDAY, name="airflow_it")
    assert len(dag_ids) == 1 and isinstance(dag_ids[0], int)
    assert hook.get_dag(dag_ids[0])["DagId"] == dag_ids[0]

    instances = instances_of(pai_emulator, hook, dag_ids[0])
    assert [i["NodeId"] for i in instances] == [NODE_ID]
    instance_id = instances[0]["InstanceId"]

    pai_emulator.advance_clock(3600)
    instance = hook.get_instance(instance_id)
    assert instance["Status"] == "SUCCESS"
    assert "AUC 0.91" in hook.get_instance_log(instance_id)
    assert len(hook.list_instance_history(instance_id)) >= 1


def test_dataworks_list_instances_pages_through_everything(pai_emulator):
    hook = hooks(DataWorksHook)
    for day in range(3):
        bizdate = datetime.date.today() - datetime.timedelta(days=2 + day)
        (dag_id,) = hook.run_cycle_dag_nodes(node_id=NODE_ID, bizdate=bizdate, name=f"page_{day}")
        instances_of(pai_emulator, hook, dag_id)
    pai_emulator.reset_calls()
    everything = hook.list_instances(project_id=PROJECT_ID, node_id=NODE_ID, page_size=1)
    assert len(everything) == 3
    assert len({i["InstanceId"] for i in everything}) == 3
    assert calls_of(pai_emulator, "dataworks", "ListInstances") == 3


def test_dataworks_stop_restart_and_async(pai_emulator):
    hook = hooks(DataWorksHook)
    (dag_id,) = hook.run_cycle_dag_nodes(node_id=NODE_ID, bizdate=YESTERDAY, name="stop_me")
    (instance,) = instances_of(pai_emulator, hook, dag_id)

    import asyncio

    async def follow():
        got = await hook.get_instance_async(instance["InstanceId"])
        log = await hook.get_instance_log_async(instance["InstanceId"])
        stopped = await hook.stop_instance_async(instance["InstanceId"])
        return got, log, stopped

    got, log, stopped = asyncio.run(follow())
    assert got["InstanceId"] == instance["InstanceId"] and isinstance(log, str) and stopped is True
    pai_emulator.advance_clock(60)
    assert hook.get_instance(instance["InstanceId"])["Status"] == "FAILURE"
    assert hook.restart_instance(instance["InstanceId"]) is True


def test_dataworks_throttling_is_ridden_out(pai_emulator):
    hook = hooks(DataWorksHook)
    (dag_id,) = hook.run_cycle_dag_nodes(node_id=NODE_ID, bizdate=YESTERDAY, name="throttled")
    (instance,) = instances_of(pai_emulator, hook, dag_id)
    pai_emulator.reset_calls()
    pai_emulator.fault(service="dataworks", action="GetInstance", kind="throttle", count=2)
    assert hook.get_instance(instance["InstanceId"])["InstanceId"] == instance["InstanceId"]
    assert calls_of(pai_emulator, "dataworks", "GetInstance") == 3
    assert len(hook.sleeps) == 2


def test_dataworks_connection_reset_is_retried(pai_emulator):
    hook = hooks(DataWorksHook)
    pai_emulator.fault(service="dataworks", action="GetNode", kind="reset", count=1)
    assert hook.get_node(NODE_ID)["NodeId"] == NODE_ID
    assert len(hook.sleeps) == 1


def test_dataworks_async_throttling_is_ridden_out(pai_emulator):
    import asyncio

    slept: list[float] = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    hook = DataWorksHook(async_sleep=fake_sleep)
    (dag_id,) = hook.run_cycle_dag_nodes(node_id=NODE_ID, bizdate=YESTERDAY, name="async_throttled")
    (instance,) = instances_of(pai_emulator, hook, dag_id)
    pai_emulator.fault(service="dataworks", action="GetInstance", kind="throttle", count=2)
    got = asyncio.run(hook.get_instance_async(instance["InstanceId"]))
    assert got["InstanceId"] == instance["InstanceId"] and len(slept) == 2


def test_wrong_secret_is_signature_does_not_match_without_the_secret(pai_emulator, monkeypatch):
    wrong = "definitely-not-the-secret-123"
    conn = json.loads(os.environ["AIRFLOW_CONN_PAI_DEFAULT"])
    conn["password"] = wrong
    monkeypatch.setenv("AIRFLOW_CONN_PAI_WRONG", json.dumps(conn))
    hook = hooks(DataWorksHook, pai_conn_id="pai_wrong")
    with pytest.raises(PaiApiError) as info:
        hook.get_node(NODE_ID)
    err = info.value
    assert err.code == "SignatureDoesNotMatch"
    assert err.status_code in (400, 403)
    assert err.request_id
    assert wrong not in str(err) and pai_emulator.access_key_secret not in str(err)
    assert "pai_wrong" in str(err)  # says which connection to fix
    assert hook.sleeps == []  # an auth failure is not retried
    ok, message = hook.test_connection()
    assert ok is False and wrong not in message


def test_dataworks_test_connection(pai_emulator):
    ok, message = DataWorksHook().test_connection()
    assert ok, message


def test_connection_type_test_button_reads_from_every_service(pai_emulator, monkeypatch):
    """The connection form's Test button uses the connection type's hook: it must reach all three services."""
    from airflow_provider_pai.hooks.connection import PaiConnectionHook

    pai_emulator.reset_calls()
    ok, message = PaiConnectionHook().test_connection()
    assert ok, message
    calls = pai_emulator.calls()
    assert set(calls) >= {"dataworks", "eas", "oss"}, calls
    conn = json.loads(pai_emulator.connection_json())
    conn["password"] = "not-the-secret"
    monkeypatch.setenv("AIRFLOW_CONN_PAI_WRONG", json.dumps(conn))
    ok, message = PaiConnectionHook(pai_conn_id="pai_wrong").test_connection()
    assert ok is False and "SignatureDoesNotMatch" in message and "not-the-secret" not in message


# ---- EAS ----------------------------------------------------------------------------------------


def test_eas_update_rollback_and_predict(pai_emulator):
    hook = hooks(EasHook)
    before = hook.describe_service("churn_model")
    assert before["ServiceName"] == "churn_model"
    assert [s["ServiceName"] for s in hook.list_services()] == ["churn_model"]

    config = json.loads(before["ServiceConfig"])
    config["model_path"] = "oss://pai-demo/models/churn/v2/"
    OssHook().put_object("pai-demo", "models/churn/v2/model.json", '{"weights": [1.0, 1.0], "bias": 0.0}')
    hook.update_service("churn_model", config)
    pai_emulator.advance_clock(3600)
    after = hook.describe_service("churn_model")
    assert after["CurrentVersion"] == before["CurrentVersion"] + 1
    assert len(hook.list_service_versions("churn_model")) == after["LatestVersion"]
    answer = hook.predict("churn_model", {"instances": [[0.0, 0.0]]})
    assert answer["version"] == after["CurrentVersion"] and answer["model_path"] == config["model_path"]

    hook.update_service_version("churn_model", before["CurrentVersion"])
    pai_emulator.advance_clock(3600)
    assert hook.describe_service("churn_model")["CurrentVersion"] == before["CurrentVersion"]
    assert isinstance(hook.describe_service_events("churn_model"), list)


def test_eas_create_start_stop_delete_and_async(pai_emulator):
    import asyncio

    hook = hooks(EasHook)
    created = hook.create_service({"name": "it_svc", "model_path": "oss://pai-demo/models/churn/initial/",
                                   "processor": "json_linear", "metadata": {"instance": 1}})
    assert created["ServiceName"] == "it_svc"
    described = asyncio.run(hook.describe_service_async("it_svc"))
    assert described["ServiceName"] == "it_svc"
    assert isinstance(asyncio.run(hook.describe_service_events_async("it_svc")), list)
    pai_emulator.advance_clock(3600)
    assert "RequestId" in hook.stop_service("it_svc")
    assert "RequestId" in hook.start_service("it_svc")
    assert "RequestId" in hook.delete_service("it_svc")


def test_eas_unknown_service_is_a_clear_error(pai_emulator):
    hook = hooks(EasHook)
    with pytest.raises(PaiApiError) as info:
        hook.describe_service("no_such_service")
    assert info.value.code == "InvalidService.NotFound" and hook.sleeps == []
    assert "check the EAS service name" in str(info.value)


def test_eas_predict_rides_out_warm_up(pai_emulator):
    hook = EasHook()
    # While predict waits, the emulator's clock moves on by the same amount: the service starts meanwhile.
    waits: list[float] = []
    hook._sleep = lambda seconds: (waits.append(seconds), pai_emulator.advance_clock(seconds))
    hook.create_service({"name": "warm_svc", "model_path": "oss://pai-demo/models/churn/initial/",
                         "processor": "json_linear", "metadata": {"instance": 1}})
    answer = hook.predict("warm_svc", {"instances": [[1.0, 2.0]]}, timeout=3600)
    assert waits, "the first predict call should have met a service still warming up"
    assert answer["model_path"] == "oss://pai-demo/models/churn/initial/"
    assert len(answer["predictions"]) == 1


def test_eas_predict_model_error_is_raised_with_status_and_body(pai_emulator):
    hook = hooks(EasHook)
    pai_emulator.advance_clock(3600)
    with pytest.raises(PaiApiError) as info:
        hook.predict("churn_model", "not json at all", timeout=5)
    assert info.value.status_code >= 400 and info.value.action == "Predict"
    assert hook.sleeps == []


def test_eas_test_connection(pai_emulator):
    ok, message = EasHook().test_connection()
    assert ok, message


# ---- OSS ----------------------------------------------------------------------------------------


def test_oss_objects_round_trip(pai_emulator):
    hook = hooks(OssHook)
    put = hook.put_object("pai-demo", "it/a/model.bin", b"hello model", content_type="application/octet-stream")
    assert put["etag"] and put["crc64"]
    assert hook.get_object("pai-demo", "it/a/model.bin") == b"hello model"
    head = hook.head_object("pai-demo", "it/a/model.bin")
    assert head["size"] == 11 and head["crc64"] == put["crc64"] and head["content_type"] == "application/octet-stream"
    assert hook.object_exists("pai-demo", "it/a/model.bin") is True
    assert hook.head_object("pai-demo", "it/missing") is None
    assert hook.object_exists("pai-demo", "it/missing") is False

    copied = hook.copy_object("pai-demo", "it/a/model.bin", "pai-demo", "it/b/model.bin")
    assert copied["crc64"] == put["crc64"]
    listed = hook.list_objects("pai-demo", prefix="it/")
    assert [o["key"] for o in listed] == ["it/a/model.bin", "it/b/model.bin"]
    hook.delete_object("pai-demo", "it/b/model.bin")
    assert hook.object_exists("pai-demo", "it/b/model.bin") is False


def test_oss_multipart_copy(pai_emulator):
    hook = hooks(OssHook)
    data = os.urandom(300 * 1024 + 17)
    src = hook.put_object("pai-demo", "it/big.bin", data)
    result = hook.multipart_copy("pai-demo", "it/big.bin", "pai-demo", "it/big-copy.bin", size=len(data),
                                 part_size=100 * 1024, max_workers=3)
    assert result["parts"] == 4
    assert hook.get_object("pai-demo", "it/big-copy.bin") == data
    assert hook.head_object("pai-demo", "it/big-copy.bin")["crc64"] == src["crc64"]


def test_oss_errors_are_classified(pai_emulator):
    hook = hooks(OssHook)
    with pytest.raises(PaiApiError) as info:
        hook.get_object("no-such-bucket", "k")
    assert info.value.code == "NoSuchBucket" and hook.sleeps == []
    pai_emulator.fault(service="oss", action="*", kind="throttle", count=1)
    assert hook.get_object("pai-demo", "models/churn/initial/model.json").startswith(b"{")
    assert len(hook.sleeps) == 1


def test_oss_test_connection(pai_emulator):
    ok, message = OssHook().test_connection()
    assert ok, message


# ---- errors that will not heal, over the wire ----------------------------------------------------


def _conn_with(monkeypatch, pai_emulator, conn_id, **extra):
    conn = json.loads(pai_emulator.connection_json())
    conn["extra"].update(extra)
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id


@pytest.mark.parametrize(
    "status, code, hint",
    [
        (429, "Throttling.Api.Risk", "daily API quota"),
        (429, "Throttling.Resource", "edition"),
        (500, "Forbidden.Not.Server", "not offered in region"),
    ],
)
def test_dataworks_errors_that_will_not_heal_fail_at_once(pai_emulator, status, code, hint):
    hook = hooks(DataWorksHook)
    pai_emulator.reset_calls()
    pai_emulator.fault(service="dataworks", action="GetNode", kind="error", status=status, code=code, count=5)
    with pytest.raises(PaiApiError) as info:
        hook.get_node(NODE_ID)
    assert (info.value.code, info.value.status_code) == (code, status)
    assert hint in str(info.value)
    assert hook.sleeps == [] and calls_of(pai_emulator, "dataworks", "GetNode") == 1


def test_eas_daily_quota_style_errors_fail_at_once_in_the_async_path_too(pai_emulator):
    import asyncio

    slept: list[float] = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    hook = EasHook(async_sleep=fake_sleep)
    pai_emulator.fault(service="eas", action="DescribeService", kind="error", status=500,
                       code="Forbidden.Not.Server", count=5)
    with pytest.raises(PaiApiError) as info:
        asyncio.run(hook.describe_service_async("churn_model"))
    assert info.value.code == "Forbidden.Not.Server" and slept == []


@pytest.mark.parametrize("hook_class, call", [
    (DataWorksHook, lambda hook: hook.get_node(NODE_ID)),
    (EasHook, lambda hook: hook.describe_service("churn_model")),
    (OssHook, lambda hook: hook.get_object("pai-demo", "models/churn/initial/model.json")),
])
def test_tls_to_a_plain_http_endpoint_fails_in_one_attempt_with_a_protocol_hint(
        pai_emulator, monkeypatch, hook_class, call):
    https = pai_emulator.url.replace("http://", "https://")
    conn_id = _conn_with(monkeypatch, pai_emulator, "pai_tls", dataworks_endpoint=https, eas_endpoint=https,
                         oss_endpoint=https)
    hook = hooks(hook_class, pai_conn_id=conn_id)
    with pytest.raises(PaiApiError) as info:
        call(hook)
    assert info.value.code == "TLSError", str(info.value)
    assert '"protocol": "http"' in str(info.value) and hook.sleeps == []


def test_oss_wrong_signing_region_gets_a_region_hint(pai_emulator, monkeypatch):
    conn_id = _conn_with(monkeypatch, pai_emulator, "pai_region", region_id="cn-beijing")
    hook = hooks(OssHook, pai_conn_id=conn_id)
    with pytest.raises(PaiApiError) as info:
        hook.get_object("pai-demo", "models/churn/initial/model.json")
    assert info.value.code == "SignatureDoesNotMatch" and "signing region" in info.value.message
    assert "region_id" in info.value.hint and "AccessKey secret" not in info.value.hint


# ---- the prediction gateway: retry exactly the transient answers ---------------------------------


@pytest.mark.parametrize("status", [408, 429, 450, 502, 503, 504])
def test_predict_retries_the_gateways_transient_answers(pai_emulator, status):
    hook = hooks(EasHook)
    pai_emulator.advance_clock(3600)
    pai_emulator.fault(service="predict", action="*", kind="error", status=status, code="Injected", count=2)
    answer = hook.predict("churn_model", {"instances": [[1.0, 2.0]]}, timeout=600)
    assert len(answer["predictions"]) == 1 and len(hook.sleeps) == 2


@pytest.mark.parametrize("status", [400, 401, 404, 405, 500, 501])
def test_predict_raises_the_other_answers_at_once(pai_emulator, status):
    hook = hooks(EasHook)
    pai_emulator.advance_clock(3600)
    pai_emulator.fault(service="predict", action="*", kind="error", status=status, code="Injected", count=2)
    with pytest.raises(PaiApiError) as info:
        hook.predict("churn_model", {"instances": [[1.0, 2.0]]}, timeout=600)
    assert info.value.status_code == status and hook.sleeps == []


def test_predict_over_the_vpc_uses_the_intranet_endpoint(pai_emulator, monkeypatch):
    conn_id = _conn_with(monkeypatch, pai_emulator, "pai_vpc", endpoint_type="vpc")
    hook = hooks(EasHook, pai_conn_id=conn_id)
    pai_emulator.advance_clock(3600)
    service = hook.describe_service("churn_model")
    assert hook._predict_url("churn_model", service).startswith(service["IntranetEndpoint"].split("/api/")[0])
    assert len(hook.predict("churn_model", {"instances": [[1.0, 2.0]]})["predictions"]) == 1


def test_tls_failure_in_the_async_path_fails_in_one_attempt(pai_emulator, monkeypatch):
    import asyncio

    slept: list[float] = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    https = pai_emulator.url.replace("http://", "https://")
    conn_id = _conn_with(monkeypatch, pai_emulator, "pai_tls_async", eas_endpoint=https)
    hook = EasHook(pai_conn_id=conn_id, async_sleep=fake_sleep)
    with pytest.raises(PaiApiError) as info:
        asyncio.run(hook.describe_service_async("churn_model"))
    assert info.value.code == "TLSError" and slept == []
