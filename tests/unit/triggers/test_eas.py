"""EasServiceTrigger: serialize round trip, the events run() yields, and the shared status rule."""

from __future__ import annotations

import time
from unittest import mock


from airflow_provider_pai.hooks.eas import EasHook
from airflow_provider_pai.triggers.eas import EasServiceTrigger


def svc(status, current=2, running=1, total=1):
    return {"Status": status, "CurrentVersion": current, "LatestVersion": 2, "RunningInstance": running,
            "TotalInstance": total, "Message": f"{status} msg", "AccessToken": "tok-should-not-leak"}


def trigger(**kw):
    kw = {"version": 2, "pai_conn_id": "my_conn", "region_id": "cn-shanghai", "poll_interval": 0.01, **kw}
    return EasServiceTrigger("churn_model", **kw)


def test_serialize_round_trips_without_secrets():
    t = trigger(end_time=1_900_000_000.5, target_status="Stopped", newest=True)
    path, kwargs = t.serialize()
    assert path == "airflow_provider_pai.triggers.eas.EasServiceTrigger"
    again = EasServiceTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)
    assert set(kwargs) == {"service_name", "target_status", "version", "pai_conn_id", "region_id",
                           "poll_interval", "end_time", "newest", "end_cause", "rollback_to"}
    assert kwargs["newest"] is True and kwargs["end_time"] == 1_900_000_000.5


def test_end_time_is_absolute_and_accepts_iso_and_the_old_relative_timeout():
    import time

    assert trigger(end_time="2030-03-17T12:00:00+00:00").end_time == 1_899_979_200.0
    assert trigger(end_time="2030-03-17T12:00:00").end_time == 1_899_979_200.0  # naive: UTC
    # A trigger row serialized before end_time existed holds a relative timeout: it becomes a deadline.
    before = time.time()
    old = EasServiceTrigger(**{**trigger().serialize()[1], "end_time": None, "timeout": 60.0})
    assert before + 60 <= old.end_time <= time.time() + 60
    assert "timeout" not in old.serialize()[1]
    assert trigger().end_time is None  # no deadline at all


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
        (event,) = await collect(trigger(end_time=time.time() + 0.05))
    assert event["status"] == "timeout" and "Status=Updating" in event["message"]


async def test_run_reports_api_errors_as_an_event():
    from airflow_provider_pai.hooks.base import PaiApiError

    err = PaiApiError("DescribeService", "InvalidService.NotFound", "no service", "rid", 404)
    with mock.patch.object(EasHook, "describe_service_async", side_effect=err):
        (event,) = await collect(trigger())
    assert event["status"] == "error" and "InvalidService.NotFound" in event["message"]
