"""utils.eas: EAS statuses, the step after each DescribeService, Warning events, config checks."""

from __future__ import annotations

from unittest import mock

import pytest

from airflow_provider_pai.utils.eas import (
    EasServiceStatus,
    ServiceWatch,
    service_progress,
    after_describe_service,
    update_took_effect,
    warning_text,
)
from airflow_provider_pai.hooks.eas import EasHook


def warning_events(hook, name):  # what the waits do: the hook fetches, the pure layer writes the text
    return warning_text(EasHook.warning_events(hook, name))


async def warning_events_async(hook, name):
    return warning_text(await EasHook.warning_events_async(hook, name))


def update_landed(hook, name, wanted, latest_before):
    return EasHook.update_landed(hook, name, wanted, latest_before)


def svc(status, current=2, running=1, total=1):
    return {"Status": status, "CurrentVersion": current, "LatestVersion": 2, "RunningInstance": running,
            "TotalInstance": total, "Message": f"{status} msg"}


@pytest.mark.parametrize(
    ("service", "target", "version", "expected"),
    [
        (svc("Running"), "Running", 2, "success"),
        (svc("Running", current=1), "Running", 2, "check"),  # not switched yet, or EAS kept version 1 (F-EAS-6)
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


def test_update_took_effect_is_pure_and_names_the_version():
    service = {"LatestVersion": 3, "ServiceConfig": '{"model_path": "oss://b/new/"}'}
    assert "version 3" in update_took_effect(service, "svc", {"model_path": "oss://b/new/"}, 2)["Message"]
    assert update_took_effect(service, "svc", {"model_path": "oss://b/new/"}, 3) is None


def test_after_describe_service_asks_for_evidence_only_on_check():
    watch = ServiceWatch(version=2)
    running_on_1 = {"Status": "Running", "CurrentVersion": 1, "RunningInstance": 1, "TotalInstance": 1}
    step = after_describe_service(watch, running_on_1)
    assert (step.state, step.evidence, step.changed) == ("check", True, True)
    step = after_describe_service(watch, {**running_on_1, "Status": "Updating"})
    assert (step.state, step.evidence) == ("waiting", False)


def test_update_landed_needs_a_new_version_with_the_wanted_config():
    hook = mock.Mock()
    hook.describe_service.return_value = {"LatestVersion": 3, "ServiceConfig": '{"model_path": "oss://b/new/"}'}
    assert update_landed(hook, "svc", {"model_path": "oss://b/new/", "token": "x"}, 2)
    assert update_landed(hook, "svc", {"model_path": "oss://b/new/"}, 3) is None  # no version added
    assert update_landed(hook, "svc", {"model_path": "oss://b/other/"}, 2) is None


# ---- a failed rolling update EAS abandoned (F-EAS-6, the "aborted" shape) ---------------------------

def _running_on_1() -> dict:
    return {"Status": "Running", "CurrentVersion": 1, "LatestVersion": 2, "RunningInstance": 1, "TotalInstance": 1,
            "UpdateTime": "2026-11-29T10:00:00Z", "Reason": "RollingUpdateAborted", "Message": "kept version 1"}


def test_judge_fails_on_a_warning_since_the_update():
    watch = ServiceWatch(version=2, newest=True)
    assert watch.observe(_running_on_1())[0] == "check"
    old = {"Type": "Warning", "Reason": "Old", "Message": "before", "Time": "2026-11-29 09:59:00"}
    new = {"Type": "Warning", "Reason": "FailedLoadModel", "Message": "no model", "Time": "2026-11-29 10:00:05"}
    assert watch.judge(_running_on_1(), [old], [], now=0)[0] == "waiting"  # only a warning from before
    state, where = watch.judge(_running_on_1(), [new, old], [], now=1)
    assert state == "failed" and "FailedLoadModel: no model" in where and "Old" not in where
    assert "version 2 did not take" in where and "RollingUpdateAborted" in where


def test_judge_fails_on_a_failed_or_restarting_instance():
    watch = ServiceWatch(version=2)
    watch.observe(_running_on_1())
    healthy = {"InstanceName": "a", "Status": "Running", "ReadyProcesses": 1, "TotalProcesses": 1}
    assert watch.judge(_running_on_1(), [], [healthy], now=0)[0] == "waiting"
    crashing = {"InstanceName": "b", "Status": "Running", "ReadyProcesses": 0, "TotalProcesses": 1,
                "RestartCount": 4, "Reason": "CrashLoop"}
    state, where = watch.judge(_running_on_1(), [], [healthy, crashing], now=1)
    assert state == "failed" and "instance b Running (CrashLoop, 4 restart(s))" in where


def test_judge_fails_when_current_version_stays_put():
    watch = ServiceWatch(version=2)
    watch.observe(_running_on_1())
    assert watch.judge(_running_on_1(), [], [], now=0)[0] == "waiting"
    assert watch.judge(_running_on_1(), [], [], now=30)[0] == "waiting"
    assert watch.judge(_running_on_1(), [], [], now=59)[0] == "waiting"  # 3 polls, but under 60 s
    state, where = watch.judge(_running_on_1(), [], [], now=61)
    assert state == "failed" and "CurrentVersion stayed at 1 for 4 polls" in where


def test_moving_on_resets_the_stall():
    watch = ServiceWatch(version=2)
    for now in (0, 40):
        watch.observe(_running_on_1())
        watch.judge(_running_on_1(), [], [], now=now)
    watch.observe({**_running_on_1(), "Status": "Updating"})
    watch.observe(_running_on_1())
    assert watch.judge(_running_on_1(), [], [], now=100)[0] == "waiting"


def test_events_are_shown_in_time_order_whatever_order_they_come_in():
    events = [{"Type": "Warning", "Reason": r, "Message": r, "Time": t}
              for r, t in (("second", "2026-11-29 10:00:02"), ("first", "2026-11-29 10:00:01"))]
    text = warning_text(events)
    assert text.index("first") < text.index("second")


def test_a_denied_evidence_call_names_the_ram_action_to_grant():
    """Issue 22 item 7: a denied evidence call is reported with the missing action, never swallowed."""
    from airflow_provider_pai.hooks.errors import PaiApiError
    from airflow_provider_pai.hooks.request_fields import REQUESTS

    denied = PaiApiError("ListServiceInstances", "Forbidden.RAM", "not authorized", "req-1", 403)
    hook = mock.Mock()
    hook.describe_service_events.side_effect = PaiApiError("DescribeServiceEvent", "Forbidden.RAM", "no", "r", 403)
    assert "grant the RAM action eas:DescribeServiceEvent" in warning_events(hook, "svc")
    hook.describe_service_events.side_effect = None
    hook.describe_service_events.return_value = []
    hook.list_service_instances.side_effect = denied
    hook._evidence = lambda action, fetch: EasHook._evidence(hook, action, fetch)
    assert EasHook.rollout_evidence(hook, "svc") == ([], [])
    logged = hook.log.warning.call_args[0][0] % hook.log.warning.call_args[0][1:]
    assert "grant the RAM action eas:ListServiceInstances" in logged
    # the names agree with the spec the RAM policy is derived from
    actions = {e["ram_action"] for e in REQUESTS.values()}
    assert {"eas:ListServiceInstances", "eas:DescribeServiceEvent"} <= actions
    # a non-permission failure is reported as a failure, not as a missing grant
    hook.describe_service_events.side_effect = RuntimeError("down")
    assert "grant" not in warning_events(hook, "svc")


@pytest.mark.asyncio
async def test_a_denied_evidence_call_in_the_trigger_names_the_ram_action_too():
    from airflow_provider_pai.hooks.errors import PaiApiError

    hook = mock.Mock()
    hook.describe_service_events_async = mock.AsyncMock(return_value=[])
    hook.list_service_instances_async = mock.AsyncMock(
        side_effect=PaiApiError("ListServiceInstances", "Forbidden.RAM", "not authorized", "req-2", 403))
    assert await EasHook.rollout_evidence_async(hook, "svc") == ([], [])
    logged = hook.log.warning.call_args[0][0] % hook.log.warning.call_args[0][1:]
    assert "grant the RAM action eas:ListServiceInstances" in logged and "svc" in logged
    hook.describe_service_events_async.side_effect = PaiApiError("DescribeServiceEvent", "NoPermission", "no", "r", 403)
    assert "grant the RAM action eas:DescribeServiceEvent" in warning_text(await EasHook.warning_events_async(hook, "svc"))
