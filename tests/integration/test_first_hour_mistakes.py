"""Issue 23 items 3-5: a region typo and a typo in an enumerated extra, through the real operators and
SDKs against the emulator, fail before anything remote changes, naming what to fix."""

from __future__ import annotations

import json

import pytest
from airflow.providers.common.compat.sdk import AirflowException

from tests.reliability.conftest import mutating_calls, task_context


def _conn(monkeypatch, pai_emulator, **extra) -> str:
    conn = json.loads(pai_emulator.connection_json())
    conn["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_PAI_TYPO", json.dumps(conn))
    return "pai_typo"


def _trigger(conn_id, **kw):
    from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator

    return TriggerDesignerNodeOperator(task_id="train", pai_conn_id=conn_id, project_id=10001, node_id=700001,
                                       bizdate="2026-11-01", deferrable=False, wait_for_completion=False, **kw)


def _modify(conn_id, **kw):
    from airflow_provider_pai.operators.eas import EasModifyServiceOperator

    return EasModifyServiceOperator(task_id="deploy", pai_conn_id=conn_id, service_name="churn_model",
                                    model_path="oss://pai-demo/models/churn/initial/", deferrable=False, **kw)


@pytest.mark.parametrize("make", [_trigger, _modify], ids=["trigger", "modify"])
@pytest.mark.parametrize("where", ["connection", "operator"])
def test_a_region_typo_changes_nothing_and_names_region_id(pai_emulator, monkeypatch, make, where):
    if where == "connection":
        op = make(_conn(monkeypatch, pai_emulator, region_id="cn-hangzou"))
    else:
        op = make(_conn(monkeypatch, pai_emulator), region_id="cn-hangzou")
    with pytest.raises(AirflowException) as info:
        op.execute(task_context(op.task_id))
    assert "region_id 'cn-hangzou'" in str(info.value) and "did you mean 'cn-hangzhou'" in str(info.value)
    assert mutating_calls(pai_emulator.calls()) == {}


@pytest.mark.parametrize("extra, value", [("endpoint_type", "vcp"), ("auth_type", "accesskey"),
                                          ("dataworks_api_version", "2024"), ("protocol", "htp")])
def test_a_typo_in_an_enumerated_extra_changes_nothing_and_names_the_extra(pai_emulator, monkeypatch, extra, value):
    op = _trigger(_conn(monkeypatch, pai_emulator, **{extra: value}))
    with pytest.raises(AirflowException, match=rf"extra {extra} is '{value}'; valid: "):
        op.execute(task_context("train"))
    assert mutating_calls(pai_emulator.calls()) == {}
    assert sum(sum(actions.values()) for actions in pai_emulator.calls().values()) == 0  # nothing at all was sent


def test_a_wrong_region_eas_answer_names_the_region_the_task_asked_for(pai_emulator, monkeypatch):
    from airflow_provider_pai.hooks.base import PaiApiError

    # The emulator's scenario serves cn-shanghai; cn-beijing is a real region where the service is not.
    op = _modify(_conn(monkeypatch, pai_emulator), region_id="cn-beijing")
    with pytest.raises(PaiApiError) as info:
        op.execute(task_context("deploy"))
    assert info.value.code == "InvalidService.NotFound"
    assert "the task asked region cn-beijing" in info.value.hint and "region_id" in info.value.hint
    assert mutating_calls(pai_emulator.calls()) == {}


# ---- issue 23 item 6: what the log shows ------------------------------------------------------------


def test_an_absent_oss_object_is_an_answer_not_a_logged_failure(pai_emulator, caplog):
    import logging

    from airflow_provider_pai.hooks.oss import OssHook

    hook = OssHook()
    with caplog.at_level(logging.INFO, logger="oss2"):
        assert hook.head_object("pai-demo", "models/churn/nothing-here/_manifest.json") is None
        assert hook.object_exists("pai-demo", "models/churn/nothing-here/model.pmml") is False
    oss2_lines = [r.getMessage() for r in caplog.records if r.name.startswith("oss2")]
    assert not [line for line in oss2_lines if line.startswith("Exception: ")], oss2_lines
    # The requests were made (so the silence is the filter's, not a skipped call).
    assert sum(pai_emulator.calls()["oss"].values()) >= 2


def test_an_oss_failure_other_than_absent_is_still_logged_by_oss2(pai_emulator, monkeypatch, caplog):
    import logging

    from airflow_provider_pai.hooks.base import PaiApiError
    from airflow_provider_pai.hooks.oss import OssHook

    conn_id = _conn(monkeypatch, pai_emulator)
    monkeypatch.setenv("AIRFLOW_CONN_PAI_TYPO", json.dumps({**json.loads(pai_emulator.connection_json()),
                                                            "password": "not-the-secret"}))
    with caplog.at_level(logging.INFO, logger="oss2"), pytest.raises(PaiApiError):
        OssHook(pai_conn_id=conn_id, retry_max_attempts=1).head_object("pai-demo", "models/churn/initial/model.json")
    assert any(r.getMessage().startswith("Exception: ") and "'status': 403" in r.getMessage()
               for r in caplog.records if r.name.startswith("oss2"))


def test_a_host_that_does_not_exist_fails_in_seconds_naming_region_id_and_the_host(pai_emulator, monkeypatch):
    """The real SDK against a name the resolver says does not exist (RFC 2606 reserves .invalid)."""
    import socket

    from airflow_provider_pai.hooks.base import PaiApiError
    from airflow_provider_pai.hooks.eas import EasHook

    host = "pai-eas.cn-hangzou.invalid"
    try:
        socket.getaddrinfo(host, 443)
    except socket.gaierror as exc:
        if exc.errno != socket.EAI_NONAME:
            pytest.skip(f"this machine's resolver cannot answer 'does not exist' (got {exc}): nothing to test")
    conn_id = _conn(monkeypatch, pai_emulator, eas_endpoint=f"https://{host}")
    sleeps: list[float] = []
    with pytest.raises(PaiApiError) as info:
        EasHook(pai_conn_id=conn_id, sleep=sleeps.append).describe_service("churn_model")
    assert sleeps == []  # one attempt: the retry policy never waited (before: ~55 s of retries)
    assert info.value.code == "DNSNotFound"
    assert f"the host {host} does not exist" in info.value.hint and "region_id cn-shanghai" in info.value.hint
    assert mutating_calls(pai_emulator.calls()) == {}
