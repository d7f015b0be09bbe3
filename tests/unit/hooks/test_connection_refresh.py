"""A long wait and an edited connection (issue 27 item 1): the hook re-reads its connection at a
bounded interval, rebuilds what it built from it when it changed, and a poll's error or
contradicting answer is asked again through the connection as it is now."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_pai.hooks.eas import EasHook
from tests.unit.hooks.sdk_errors import SECRET, set_conn

NEW_SECRET = "NewSecretAfterRotation0123"


def hook_on(monkeypatch, **extra) -> EasHook:
    set_conn(monkeypatch, eas_endpoint="http://127.0.0.1:1001", **extra)
    hook = EasHook(pai_conn_id="pai_test")
    hook.connection_check_interval = 0.0  # every check re-reads (the intervals are tested below)
    hook.connection_recheck_interval = 0.0
    return hook


async def test_an_unchanged_connection_keeps_its_clients(monkeypatch):
    hook = hook_on(monkeypatch)
    client = hook.get_client()
    assert await hook.keep_current_async() is False
    assert hook.get_client() is client


async def test_an_edited_endpoint_rebuilds_the_client_and_is_logged_without_values(monkeypatch, capsys, caplog):
    hook = hook_on(monkeypatch)
    client = hook.get_client()
    set_conn(monkeypatch, eas_endpoint="http://127.0.0.1:1002", password=NEW_SECRET)
    with caplog.at_level(logging.WARNING):
        assert await hook.keep_current_async() is True
    assert hook.get_client() is not client
    assert hook.endpoint("eas") == ("127.0.0.1:1002", "http")
    assert hook._field("password") == NEW_SECRET
    logged = caplog.text + "".join(capsys.readouterr())  # Airflow 3 logs through structlog to stdout
    assert "Connection 'pai_test' was edited (extra eas_endpoint, password)" in logged
    assert NEW_SECRET not in logged and SECRET not in logged and "1002" not in logged


async def test_the_connection_is_reread_at_most_every_interval(monkeypatch):
    hook = hook_on(monkeypatch)
    hook.connection_check_interval = 3600.0
    hook.get_client()
    set_conn(monkeypatch, eas_endpoint="http://127.0.0.1:1002")
    assert await hook.keep_current_async() is False  # read less than an interval ago
    assert hook.endpoint("eas")[0] == "127.0.0.1:1001"
    assert await hook.keep_current_async(now=True) is True  # before a conclusion: at once
    assert hook.endpoint("eas")[0] == "127.0.0.1:1002"


async def test_a_hook_that_never_read_its_connection_does_not_read_it_to_check(monkeypatch):
    hook = EasHook(pai_conn_id="pai_missing")  # no such connection: reading it would raise
    assert await hook.keep_current_async(now=True) is False


async def test_a_contradicting_answer_is_asked_again_through_the_edited_connection(monkeypatch):
    hook = hook_on(monkeypatch)
    hook.connection_check_interval = 3600.0
    hook.get_client()
    answers = []

    async def poll():
        answers.append(hook.endpoint("eas")[0])
        return "superseded" if hook.endpoint("eas")[0].endswith("1001") else "running"

    current = hook.current_poll(poll, lambda result: result == "superseded")
    set_conn(monkeypatch, eas_endpoint="http://127.0.0.1:1002")
    assert await current() == "running"
    assert answers == ["127.0.0.1:1001", "127.0.0.1:1002"]


async def test_a_contradicting_answer_of_an_unchanged_connection_stands(monkeypatch):
    hook = hook_on(monkeypatch)
    hook.get_client()
    calls = []

    async def poll():
        calls.append(1)
        return "superseded"

    assert await hook.current_poll(poll, lambda result: result == "superseded")() == "superseded"
    assert calls == [1]


async def test_an_error_is_asked_again_through_the_edited_connection_else_raised(monkeypatch):
    hook = hook_on(monkeypatch)
    hook.connection_check_interval = 3600.0
    hook.get_client()

    async def poll():
        if hook.endpoint("eas")[0].endswith("1001"):
            raise RuntimeError("InvalidInstance.NotFound")
        return "found"

    with pytest.raises(RuntimeError, match="NotFound"):
        await hook.current_poll(poll)()  # the connection did not change: the error stands
    set_conn(monkeypatch, eas_endpoint="http://127.0.0.1:1002")
    assert await hook.current_poll(poll)() == "found"


def test_shared_hooks_of_a_connection_share_the_refresh(monkeypatch):
    from airflow_provider_pai.hooks.base import AlibabaCloudBaseHook

    AlibabaCloudBaseHook.clear_shared()
    set_conn(monkeypatch, eas_endpoint="http://127.0.0.1:1001")
    hook = EasHook.shared("pai_test")
    hook.get_client()
    set_conn(monkeypatch, eas_endpoint="http://127.0.0.1:1002")
    assert hook.refresh_connection() == ["extra eas_endpoint"]
    assert EasHook.shared("pai_test").endpoint("eas")[0] == "127.0.0.1:1002"
    AlibabaCloudBaseHook.clear_shared()


async def test_many_waits_share_one_read_and_errors_reread_at_most_every_recheck_interval(monkeypatch):
    """1,000 waits on one shared hook under faults: concurrent checks share one read, and errors re-read
    the connection at most every connection_recheck_interval, not once per error."""
    import asyncio

    hook = hook_on(monkeypatch)
    hook.get_client()
    reads = []
    real = hook.refresh_connection
    monkeypatch.setattr(hook, "refresh_connection", lambda: reads.append(1) or real())
    hook._read_at = 0.0  # the last read is old: the next check reads
    assert await asyncio.gather(*(hook.keep_current_async() for _ in range(50))) == [False] * 50
    assert len(reads) == 1
    hook.connection_check_interval = hook.connection_recheck_interval = 3600.0

    async def failing():
        raise RuntimeError("InvalidInstance.NotFound")

    current = hook.current_poll(failing)
    for _ in range(20):
        with pytest.raises(RuntimeError):
            await current()
    assert len(reads) == 1  # read moments ago: the errors are believed without reading again
