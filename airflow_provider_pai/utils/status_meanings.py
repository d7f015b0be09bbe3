"""What each documented EAS and DataWorks status means to a wait: keep waiting, fail now, or terminal.

One table per service, used by the waits (``utils/eas.py``, ``utils/dataworks.py``) and printed in
``docs/status-meanings.md`` (a test keeps the two equal). Sources: docs/cloud-fidelity.md F-EAS-7
and F-DW-1/F-DW-2. A status no table knows is waited on (with a warning) until the timeout: the
provider never succeeds on a status it cannot interpret.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class Meaning(str, Enum):
    WAIT = "keep waiting"
    FAIL = "fail now"
    TERMINAL = "terminal"


def enum_name(value: Any) -> str | None:
    """``"SUCCESS(6)"`` -> ``"SUCCESS"``: DataWorks writes enum values with and without their code (F-DW-3)."""
    if value is None:
        return None
    return str(value).split("(", 1)[0].strip()


# A wait for an EAS service to be Running (create, modify, rollback, start). Running is terminal:
# success once it runs the awaited version with every instance ready. "fail now" statuses do not
# lead back to Running by themselves (someone stopped or deleted the service, or the deploy failed).
EAS_STATUS_MEANINGS: dict[str, tuple[Meaning, str]] = {
    "Creating": (Meaning.WAIT, "the service is being created"),
    "Deploying": (Meaning.WAIT, "waiting for the deployment to finish"),
    "Waiting": (Meaning.WAIT, "waiting for instances to start"),
    "Pending": (Meaning.WAIT, "waiting to be processed"),
    "Starting": (Meaning.WAIT, "the service is starting"),
    "Updating": (Meaning.WAIT, "instances are being replaced (rolling update)"),
    "HotUpdate": (Meaning.WAIT, "updated in place, without replacing instances"),
    "Scaling": (Meaning.WAIT, "instances are being added or removed"),
    "Committing": (Meaning.WAIT, "no documented meaning; a transition, so waited on"),
    "Cloning": (Meaning.WAIT, "no documented meaning; a transition, so waited on"),
    "Running": (Meaning.TERMINAL, "success once CurrentVersion is the awaited version and every instance runs"),
    "Failed": (Meaning.FAIL, "the deployment failed"),
    "Stopping": (Meaning.FAIL, "someone is stopping the service: it will not come up by itself"),
    "Stopped": (Meaning.FAIL, "the service is stopped: it will not start by itself"),
    "Deleting": (Meaning.FAIL, "the service is being deleted"),
    "Deleted": (Meaning.FAIL, "the service is deleted"),
    "DeleteFailed": (Meaning.FAIL, "a deletion failed: the service is half gone"),
    "Complete": (Meaning.FAIL, "no documented meaning; not a serving state"),
    "Developing": (Meaning.FAIL, "development mode (CreateService Develop=true): not a serving state"),
}

# A wait for a DataWorks instance: only SUCCESS and FAILURE end it.
DATAWORKS_STATUS_MEANINGS: dict[str, tuple[Meaning, str]] = {
    "NOT_RUN": (Meaning.WAIT, "not run yet"),
    "WAIT_TIME": (Meaning.WAIT, "waiting for its scheduled time"),
    "WAIT_RESOURCE": (Meaning.WAIT, "sent to the engine, waiting for resources"),
    "WAIT_TRIGGER": (Meaning.WAIT, "a trigger-based node waiting to be triggered"),
    "RUNNING": (Meaning.WAIT, "running"),
    "CHECKING": (Meaning.WAIT, "finished running; Data Quality is checking its output"),
    "CHECKING_CONDITION": (Meaning.WAIT, "finished running; branch conditions are being checked"),
    "SUCCESS": (Meaning.TERMINAL, "succeeded (or skipped: see TaskType)"),
    "FAILURE": (Meaning.TERMINAL, "failed (or stopped, or frozen: see TaskType)"),
}

# TaskTypes DataWorks sets to SUCCESS without running the node (F-DW-4): a skip, not a result.
# SKIP_CALENDAR: 2024-05-18 TriggerRecurrence SkipCalendar, a dry run set to SUCCESS (F-DW24-18).
SKIPPED_TASK_TYPES = ("SKIP", "SKIP_UNCHOOSE", "SKIP_CYCLE", "CONDITION_UNCHOOSE", "REALTIME_DEPRECATED",
                      "SKIP_CALENDAR")


def eas_meaning(status: Any, target: str = "Running") -> Meaning | None:
    """What ``status`` means to a wait for ``target``; None for a status no table knows."""
    if status == target:
        return Meaning.TERMINAL
    if target == "Stopped" and status == "Stopping":
        return Meaning.WAIT  # a wait for Stopped passes through Stopping
    entry = EAS_STATUS_MEANINGS.get(status)
    if entry is None:
        return None
    if entry[0] is Meaning.TERMINAL:  # Running while waiting for another status (a stop in progress)
        return Meaning.WAIT
    return entry[0]


def dataworks_meaning(status: Any) -> Meaning | None:
    entry = DATAWORKS_STATUS_MEANINGS.get(enum_name(status) or "")
    return entry[0] if entry else None


def is_skip(task_type: Any) -> bool:
    return enum_name(task_type) in SKIPPED_TASK_TYPES
