"""What a PAI-EAS service's state means: statuses, progress of a rollout, config comparison, events.

``after_describe_service`` is the one step after each DescribeService: is the wait over, did the
description change, and must the service's evidence be fetched (``check``)? The trigger and
``mixins/eas.py`` (the operators' and the sensor's wait) all take it, so a deferred task and a
blocking one agree on what "Running on version N" means. Pure: no Airflow imports, no remote
calls (those are ``EasHook``'s: ``rollout_evidence``, ``warning_events``, ``update_landed``).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from enum import Enum
from typing import Any, NamedTuple

from airflow_provider_pai.utils.polling import PollSchedule
from airflow_provider_pai.utils.status_meanings import EAS_STATUS_MEANINGS, Meaning, eas_meaning
from airflow_provider_pai.utils.validation import PaiParameterError

WARNING_EVENTS_SHOWN = 5
# Keys about the access token, not the deployment: EAS does not echo them in ServiceConfig.
TOKEN_KEYS = ("token", "generate_token")
# XCom key pushed as soon as an update is accepted: a failed deploy has no return value, yet
# EasRollbackOperator must still learn what it replaced.
DEPLOY_XCOM_KEY = "eas_deploy"


class EasServiceStatus(str, Enum):
    """DescribeService ``Status`` values the provider reasons about."""

    CREATING = "Creating"
    WAITING = "Waiting"
    UPDATING = "Updating"
    RUNNING = "Running"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    FAILED = "Failed"
    DELETING = "Deleting"
    DELETE_FAILED = "DeleteFailed"

    @classmethod
    def is_terminal(cls, value: Any) -> bool:
        """Statuses EAS will not leave by itself: waiting for another one past them is pointless."""
        return value in (cls.FAILED.value, cls.DELETE_FAILED.value)

    @classmethod
    def is_success(cls, value: Any) -> bool:
        return value == cls.RUNNING.value


# Kept for callers of the earlier module layout.
FAILED_STATUSES = (EasServiceStatus.FAILED.value, EasServiceStatus.DELETE_FAILED.value)


def service_progress(
    service: dict, *, target_status: str = "Running", version: int | None = None, newest: bool = False
) -> tuple[str, str]:
    """``("success" | "failed" | "waiting" | "check", one-line description)`` for a DescribeService dict.

    Each status means what ``utils.status_meanings.EAS_STATUS_MEANINGS`` says (docs/status-meanings.md).
    Success for Running also needs every instance ready (RunningInstance >= TotalInstance), and,
    when ``version`` is given, CurrentVersion == version. A failure of some other version than
    the one waited for (the service has not switched yet) counts as waiting. ``newest``: the
    version waited for was just deployed, so a newer one taking over means another deploy
    superseded it: that fails at once instead of waiting out the timeout. ``check``: Running, but
    on another version than the one waited for: EAS may have abandoned the update and kept the old
    version (F-EAS-6); ``ServiceWatch.judge`` decides from the service's events and instances.
    """
    status = service.get("Status")
    current = service.get("CurrentVersion")
    running, total = service.get("RunningInstance") or 0, service.get("TotalInstance") or 0
    where = f"Status={status}, CurrentVersion={current}, instances {running}/{total}"
    on_version = version is None or current == version
    latest = service.get("LatestVersion") or 0
    if newest and version is not None and latest > version and not on_version:
        return "failed", (
            f"{where}: superseded: version {latest} was deployed after version {version}, so another deploy "
            "moved the service on (deploy one service from one task at a time: an Airflow pool with 1 slot)"
        )
    if status == target_status and on_version:
        if not EasServiceStatus.is_success(target_status) or running >= total:
            return "success", where
        return "waiting", where
    meaning = eas_meaning(status, target_status)
    # A failure of another version than the awaited one: the service has not switched yet.
    # (FAIL comes only from a table entry, so status is then one of its str keys.)
    if meaning is Meaning.FAIL and isinstance(status, str) and (on_version or status != EasServiceStatus.FAILED.value):
        detail = " ".join(str(service.get(k)) for k in ("Reason", "Message") if service.get(k))
        return "failed", f"{where}: {status}, {EAS_STATUS_MEANINGS[status][1]}{': ' + detail if detail else ''}"
    if status == target_status == EasServiceStatus.RUNNING.value and not on_version:
        return "check", f"{where}: Running, but not on version {version}"
    if meaning is None:
        return "waiting", f"{where} (a status with no documented meaning: waiting on it)"
    return "waiting", where


# A deploy that EAS abandoned while the old version kept serving (F-EAS-6, the "aborted" shape) is
# recognised from evidence, or else from a CurrentVersion that stays put this long while Running.
STALL_POLLS = 3
STALL_SECONDS = 60.0


def _utc_seconds(value: Any) -> float | None:
    """Epoch seconds of an EAS time: ``2022-04-09 06:30:00`` (events) or ``2022-04-09T06:30:00Z``."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("T", " ").rstrip("Z").split(".")[0]
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def failed_update_evidence(service: dict, warnings: list[dict], instances: list[dict]) -> str | None:
    """What shows that the update did not take, or None: Warning events since the service's
    UpdateTime (sorted by Time: their order is not documented, F-EAS-10), and instances that
    failed or restart without becoming ready (ListServiceInstances, F-EAS-11)."""
    since = _utc_seconds(service.get("UpdateTime"))
    recent = [e for e in sorted(warnings or [], key=lambda e: str(e.get("Time") or ""))
              if since is not None and (_utc_seconds(e.get("Time")) or 0) >= since]
    broken = [i for i in instances or [] if i.get("Status") == "Failed"
              or ((i.get("RestartCount") or 0) > 0 and (i.get("ReadyProcesses") or 0) < (i.get("TotalProcesses") or 1))]
    found = [f"{e.get('Reason', '')}: {e.get('Message', '')}" for e in recent[-WARNING_EVENTS_SHOWN:]]
    found += [f"instance {i.get('InstanceName')} {i.get('Status')}"
              + (f" ({i.get('Reason')}, {i.get('RestartCount')} restart(s))" if i.get("Reason") else "")
              for i in broken[:3]]
    return "; ".join(found) or None


class ServiceWatch:
    """One wait on a service: the step after each DescribeService, shared by the blocking wait and
    the trigger. ``observe`` returns ``(state, where, changed)``; ``changed`` says whether the
    one-line description differs from the last one (one log line per change, not per poll). A
    ``check`` state is settled by ``judge`` with the evidence ``EasHook.rollout_evidence`` fetched."""

    def __init__(self, *, target_status: str = "Running", version: int | None = None, newest: bool = False) -> None:
        self.target_status = target_status
        self.version = version
        self.newest = newest
        self.where = ""
        self.stalled = 0
        self.stalled_since: float | None = None

    def observe(self, service: dict) -> tuple[str, str, bool]:
        state, where = service_progress(
            service, target_status=self.target_status, version=self.version, newest=self.newest
        )
        if state != "check":
            self.stalled, self.stalled_since = 0, None
        changed = where != self.where
        self.where = where
        return state, where, changed

    def judge(self, service: dict, warnings: list[dict], instances: list[dict],
              now: float | None = None) -> tuple[str, str]:
        """Running on another version than the awaited one: failed on evidence, or after a stall."""
        current = service.get("CurrentVersion")
        kept = f"EAS kept version {current} Running; the update to version {self.version} did not take"
        detail = " ".join(str(service.get(k)) for k in ("Reason", "Message") if service.get(k))
        evidence = failed_update_evidence(service, warnings, instances)
        if evidence:
            return "failed", f"{self.where}: {kept} ({evidence}){': ' + detail if detail else ''}"
        now = time.time() if now is None else now
        self.stalled += 1
        self.stalled_since = now if self.stalled_since is None else self.stalled_since
        if self.stalled >= STALL_POLLS and now - self.stalled_since >= STALL_SECONDS:
            return "failed", (f"{self.where}: {kept}: CurrentVersion stayed at {current} for {self.stalled} polls "
                              f"({now - self.stalled_since:.0f} s) while Running{': ' + detail if detail else ''}")
        return "waiting", self.where


class EasStep(NamedTuple):
    """What one DescribeService answer means to a wait: ``state`` (success/failed/waiting/check),
    the one-line ``where``, whether it ``changed`` since the last answer, and whether the
    service's evidence (Warning events, instances) must be fetched before deciding: ``evidence``."""

    state: str
    where: str
    changed: bool
    evidence: bool


def after_describe_service(watch: ServiceWatch, service: dict) -> EasStep:
    """The step after each DescribeService of a wait (blocking, sensor or trigger): ``check``
    (Running on another version) asks for evidence, which ``ServiceWatch.judge`` then weighs."""
    state, where, changed = watch.observe(service)
    return EasStep(state, where, changed, state == "check")


def eas_schedule(poll_interval: float) -> PollSchedule:
    """EAS rollouts last minutes: poll every ``poll_interval``, backing off only on long waits."""
    return PollSchedule(poll_interval, min_latency=poll_interval, max_interval=max(poll_interval, 300.0))


def warning_text(events: list[dict] | str) -> str:
    """The newest Warning events, oldest first, as one line each (the text a user needs to act).
    Sorted by Time: DescribeServiceEvent's order is not documented (F-EAS-10). A text instead of
    events (``EasHook.warning_events`` could not read them) is shown as it is."""
    if isinstance(events, str):
        return events
    warnings = sorted((e for e in events or [] if e.get("Type", "Warning") == "Warning"),
                      key=lambda e: str(e.get("Time") or ""))
    return "\n".join(
        f"  {e.get('Time', '')} {e.get('Reason', '')}: {e.get('Message', '')}" for e in warnings[-WARNING_EVENTS_SHOWN:]
    )


def failure_message(service_name: str, where: str, events: str) -> str:
    text = f"EAS service {service_name} failed: {where}."
    if events:
        text += f"\nWarning events:\n{events}"
    return text


def summarize(service: dict) -> dict:
    """The JSON-able fields of a DescribeService dict worth carrying in an event (no AccessToken)."""
    keys = ("ServiceName", "Status", "CurrentVersion", "LatestVersion", "RunningInstance",
            "TotalInstance", "Region", "InternetEndpoint", "IntranetEndpoint")
    return {k: service.get(k) for k in keys if service.get(k) is not None}


def endpoint_of(service: dict) -> str | None:
    return service.get("InternetEndpoint") or service.get("IntranetEndpoint")


# ---- service configs ---------------------------------------------------------------------------


def parse_service_config(value: Any, param: str = "service_config") -> dict:
    """A service description (eascmd JSON) given as a dict or a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise PaiParameterError(f"Invalid {param}: not valid JSON ({exc}); give a dict or a JSON object.") from None
    if not isinstance(value, dict):
        raise PaiParameterError(f"Invalid {param}={value!r}: expected a dict or a JSON object string.")
    return value


def current_config(service: dict) -> dict:
    """DescribeService's ServiceConfig (a JSON string on the wire) as a dict."""
    raw = service.get("ServiceConfig")
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def config_contains(current: dict, wanted: dict) -> bool:
    """True if every key of ``wanted`` has that value in ``current`` (dicts compared key by key)."""
    for key, value in wanted.items():
        if key in TOKEN_KEYS:
            continue
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            if not config_contains(current[key], value):
                return False
        elif current.get(key) != value:
            return False
    return True


def update_took_effect(service: dict, name: str, wanted: dict, latest_before: int) -> dict | None:
    """Did an UpdateService whose answer was lost take effect (a newer version carrying ``wanted``)?
    The answer the retry policy returns in its place, or None."""
    if (service.get("LatestVersion") or 0) > latest_before and config_contains(current_config(service), wanted):
        return {"Message": f"update of {name} already took effect (version {service.get('LatestVersion')})"}
    return None
