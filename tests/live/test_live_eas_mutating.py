"""Creates a real EAS service, breaks an update on purpose, rolls back and deletes the service.
Billed: only with PAI_LIVE_MUTATE=1 (docs/live-tests.md states the cost). Settles F-EAS-6 (which
shape a failed rolling update takes) and F-EAS-8 (UpdateServiceVersion's range)."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from tests.live.conftest import mutating, need

WAIT_S = 20 * 60


SETTLED = ("Running", "Failed", "Stopped", "DeleteFailed")


def wait_for(hook, name: str, done, *, deadline: float) -> dict:
    """DescribeService every 15 s until ``done(service)``; fails at the deadline saying what it saw."""
    while True:
        service = hook.describe_service(name)
        if done(service):
            return service
        if time.monotonic() > deadline:
            pytest.fail(f"{name}: still {service['Status']} on version {service.get('CurrentVersion')} "
                        f"after {WAIT_S} s")
        time.sleep(15)


def _event_key(event: dict) -> tuple:
    return event.get("Time"), event.get("Reason"), event.get("Message")


def new_warnings(hook, name: str, before: set[tuple]) -> list[dict]:
    """Warning events not among ``before`` (those seen before the update): the update's own.
    Compared by content, not by clock, so a skew between this machine and EAS cannot matter."""
    return [e for e in hook.describe_service_events(name, "Warning") if _event_key(e) not in before]


def update_outcome(hook, name: str, before: set[tuple]):
    """Done once the broken update shows: Failed, Running on version 2, or a Warning *since the update*
    while Running (a Warning left from the creation must not end the wait)."""

    def done(service: dict) -> bool:
        if service["Status"] == "Failed" or (service["Status"] == "Running" and service.get("CurrentVersion") == 2):
            return True
        return service["Status"] == "Running" and bool(new_warnings(hook, name, before))

    return done


def test_create_break_roll_back_delete(live_conn):
    from airflow_provider_pai.hooks.base import PaiApiError
    from airflow_provider_pai.hooks.eas import EasHook

    mutating()
    env = need("PAI_LIVE_EAS_MODEL_PATH")
    hook = EasHook(pai_conn_id=live_conn)
    name = f"airflow_pai_live_{uuid.uuid4().hex[:8]}"
    config = {"name": name, "model_path": env["PAI_LIVE_EAS_MODEL_PATH"],
              "processor": os.environ.get("PAI_LIVE_EAS_PROCESSOR", "pmml"),
              "metadata": {"instance": 1, "cpu": 1, "memory": 1000}}
    deadline = time.monotonic() + WAIT_S
    try:
        hook.create_service(config)
        created = wait_for(hook, name, lambda s: s["Status"] in SETTLED, deadline=deadline)
        assert (created["Status"], created["CurrentVersion"]) == ("Running", 1), created
        broken = env["PAI_LIVE_EAS_MODEL_PATH"].rstrip("/") + f"-missing-{uuid.uuid4().hex[:6]}/"
        before = {_event_key(e) for e in hook.describe_service_events(name, "Warning")}
        hook.update_service(name, {"model_path": broken})
        after = wait_for(hook, name, update_outcome(hook, name, before), deadline=deadline)
        warnings = new_warnings(hook, name, before)
        print(f"F-EAS-6 failed update: Status={after['Status']!r} CurrentVersion={after['CurrentVersion']!r} "
              f"LatestVersion={after.get('LatestVersion')!r} Reason={after.get('Reason')!r} "
              f"Message={after.get('Message')!r}; Warning reasons {[e.get('Reason') for e in warnings]}")
        if after["CurrentVersion"] == 2:  # shape "failed": roll back below the current version (F-EAS-8)
            with pytest.raises(PaiApiError) as refused:
                hook.update_service_version(name, 2)
            print(f"F-EAS-8 Version == current answered {refused.value.code!r}: {refused.value.message!r}")
            hook.update_service_version(name, 1)
            rolled = wait_for(hook, name, lambda s: s["Status"] in SETTLED and s.get("CurrentVersion") == 1,
                              deadline=deadline)
            assert (rolled["Status"], rolled["CurrentVersion"]) == ("Running", 1), rolled
        else:  # shape "aborted": still on version 1, nothing to roll back
            assert (after["Status"], after["CurrentVersion"]) == ("Running", 1), after
    finally:
        try:
            hook.delete_service(name)
            print(f"deleted {name}")
        except PaiApiError as exc:
            if exc.code != "InvalidService.NotFound":
                raise AssertionError(f"CLEANUP FAILED: delete EAS service {name} by hand ({exc})") from exc
