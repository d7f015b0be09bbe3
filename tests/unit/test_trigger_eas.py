"""EasServiceTrigger: serialize round trip, the events run() yields, and the shared status rule."""

from __future__ import annotations

from unittest import mock

import pytest

from airflow_provider_pai.hooks.eas import EasHook
from airflow_provider_pai.triggers.eas import EasServiceTrigger, service_progress


def svc(status, current=2, running=1, total=1):
    return {"Status": status, "CurrentVersion": current, "LatestVersion": 2, "RunningInstance": running,
            "TotalInstance": total, "Message": f"{status} msg", "AccessToken": "tok-should-not-leak"}


def trigger(**kw):
    kw = {"version": 2, "pai_conn_id": "my_conn", "region_id": "cn-shanghai", "poll_interval": 0.01, **kw}
    return EasServiceTrigger("churn_model", **kw)


def test_serialize_round_trips_without_secrets():
    t = trigger(timeout=60.0, target_status="Stopped", newest=True)
    path, kwargs = t.serialize()
    assert path == "airflow_provider_pai.triggers.eas.EasServiceTrigger"
    again = EasServiceTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)
    assert set(kwargs) == {"service_name", "target_status", "version", "pai_conn_id", "region_id",
                           "poll_interval", "timeout", "newest"}
    assert kwargs["newest"] is True


def test_a_deploy_superseded_by_another_fails_at_once_but_a_rollback_wait_does_not():
    from airflow_provider_pai.triggers.eas import service_progress

    overtaken = svc("Updating", current=4) | {"LatestVersion": 4}
    state, where = service_progress(overtaken, version=3, newest=True)
    assert state == "failed" and "superseded" in where and "version 4" in where
    assert service_progress(overtaken, version=2)[0] == "waiting"  # a rollback to 2 waits for the switch
    assert service_progress(svc("Running", current=3) | {"LatestVersion": 3}, version=3, newest=True)[0] == "success"


async def collect(t):
    return [event.payload async for event in t.run()]


async def test_run_yields_success_once_running_on_version():
    describes = [svc("Running", current=1), svc("Updating"), svc("Running")]
    with mock.patch.object(EasHook, "describe_service_async", side_effect=describes):
        events = await collect(trigger())
    assert len(events) == 1
    assert events[0]["status"] == "success" and events[0]["service"]["CurrentVersion"] == 2
    assert "AccessToken" not in events[0]["service"]


async def test_run_failed_carries_warning_events():
    warnings = [{"Type": "Warning", "Reason": "FailedLoadModel", "Message": "no such object", "Time": "t1"}]
    with mock.patch.object(EasHook, "describe_service_async", side_effect=[svc("Failed")]), \
            mock.patch.object(EasHook, "describe_service_events_async", return_value=warnings) as events_call:
        (event,) = await collect(trigger())
    assert event["status"] == "failed"
    assert "no such object" in event["message"] and "Failed msg" in event["message"]
    assert events_call.call_args.kwargs == {"event_type": "Warning"}


async def test_run_times_out_with_last_state():
    with mock.patch.object(EasHook, "describe_service_async", return_value=svc("Updating")):
        (event,) = await collect(trigger(timeout=0.05))
    assert event["status"] == "timeout" and "Status=Updating" in event["message"]


async def test_run_reports_api_errors_as_an_event():
    from airflow_provider_pai.hooks.base import PaiApiError

    err = PaiApiError("DescribeService", "InvalidService.NotFound", "no service", "rid", 404)
    with mock.patch.object(EasHook, "describe_service_async", side_effect=err):
        (event,) = await collect(trigger())
    assert event["status"] == "error" and "InvalidService.NotFound" in event["message"]


@pytest.mark.parametrize(
    ("service", "target", "version", "expected"),
    [
        (svc("Running"), "Running", 2, "success"),
        (svc("Running", current=1), "Running", 2, "waiting"),  # not switched yet
        (svc("Running", running=1, total=2), "Running", None, "waiting"),  # instances not ready
        (svc("Failed"), "Running", 2, "failed"),
        (svc("Failed", current=1), "Running", 2, "waiting"),  # another version's failure
        (svc("Stopped"), "Running", None, "failed"),
        (svc("Running"), "Stopped", None, "waiting"),  # a stop in progress
        (svc("Stopped"), "Stopped", None, "success"),
    ],
)
def test_service_progress(service, target, version, expected):
    assert service_progress(service, target_status=target, version=version)[0] == expected
