"""utils.eas: EAS statuses, the step after each DescribeService, Warning events, config checks."""

from __future__ import annotations

from unittest import mock

import pytest

from airflow_provider_pai.utils.eas import (
    EasServiceStatus,
    ServiceWatch,
    service_progress,
    update_landed,
    warning_events,
    warning_events_async,
)


def svc(status, current=2, running=1, total=1):
    return {"Status": status, "CurrentVersion": current, "LatestVersion": 2, "RunningInstance": running,
            "TotalInstance": total, "Message": f"{status} msg"}


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


def test_a_deploy_superseded_by_another_fails_at_once_but_a_rollback_wait_does_not():
    overtaken = svc("Updating", current=4) | {"LatestVersion": 4}
    state, where = service_progress(overtaken, version=3, newest=True)
    assert state == "failed" and "superseded" in where and "version 4" in where
    assert service_progress(overtaken, version=2)[0] == "waiting"  # a rollback to 2 waits for the switch
    assert service_progress(svc("Running", current=3) | {"LatestVersion": 3}, version=3, newest=True)[0] == "success"


def test_status_type():
    assert EasServiceStatus.is_success("Running") and not EasServiceStatus.is_success("Updating")
    assert EasServiceStatus.is_terminal("Failed") and EasServiceStatus.is_terminal("DeleteFailed")
    assert not EasServiceStatus.is_terminal("Stopped")  # a stop is a normal path, not a failure by itself


def test_service_watch_reports_a_change_once():
    watch = ServiceWatch(version=2)
    updating = {"Status": "Updating", "CurrentVersion": 1, "RunningInstance": 1, "TotalInstance": 1}
    assert watch.observe(updating)[::2] == ("waiting", True)
    assert watch.observe(updating)[::2] == ("waiting", False)
    state, where, changed = watch.observe({**updating, "Status": "Running", "CurrentVersion": 2})
    assert (state, changed) == ("success", True) and "CurrentVersion=2" in where


def test_warning_events_are_text_and_a_read_failure_is_reported_not_raised():
    hook = mock.Mock()
    hook.describe_service_events.return_value = [
        {"Type": "Normal", "Reason": "Scaled", "Message": "ok"},
        {"Type": "Warning", "Time": "t1", "Reason": "ImagePullBackOff", "Message": "no image"},
    ]
    assert warning_events(hook, "svc") == "  t1 ImagePullBackOff: no image"
    hook.describe_service_events.assert_called_once_with("svc", event_type="Warning")
    hook.describe_service_events.side_effect = RuntimeError("quota")
    assert warning_events(hook, "svc") == "  (could not read the service events: quota)"


@pytest.mark.asyncio
async def test_warning_events_async_twin():
    hook = mock.Mock()
    hook.describe_service_events_async = mock.AsyncMock(side_effect=RuntimeError("down"))
    assert "could not read the service events: down" in await warning_events_async(hook, "svc")


def test_update_landed_needs_a_new_version_with_the_wanted_config():
    hook = mock.Mock()
    hook.describe_service.return_value = {"LatestVersion": 3, "ServiceConfig": '{"model_path": "oss://b/new/"}'}
    assert update_landed(hook, "svc", {"model_path": "oss://b/new/", "token": "x"}, 2)
    assert update_landed(hook, "svc", {"model_path": "oss://b/new/"}, 3) is None  # no version added
    assert update_landed(hook, "svc", {"model_path": "oss://b/other/"}, 2) is None
