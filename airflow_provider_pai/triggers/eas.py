"""Async wait on a PAI-EAS service for the triggerer, and the one status rule the EAS tasks share.

``service_progress`` decides, from one DescribeService answer, whether a wait is over. The
trigger, ``EasServiceSensor.poke`` and the EAS operators' synchronous waits all call it, so a
deferred task and a blocking one agree on what "Running on version N" means.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_pai.utils.polling import PollSchedule, PollTimeout, wait_until_async

# Statuses EAS will not leave by itself: waiting for another one past them is pointless.
FAILED_STATUSES = ("Failed", "DeleteFailed")
WARNING_EVENTS_SHOWN = 5


def service_progress(
    service: dict, *, target_status: str = "Running", version: int | None = None, newest: bool = False
) -> tuple[str, str]:
    """``("success" | "failed" | "waiting", one-line description)`` for a DescribeService dict.

    Success for Running also needs every instance ready (RunningInstance >= TotalInstance), and,
    when ``version`` is given, CurrentVersion == version. A failure of some other version than
    the one waited for (the service has not switched yet) counts as waiting. ``newest``: the
    version waited for was just deployed, so a newer one taking over means another deploy
    superseded it: that fails at once instead of waiting out the timeout.
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
        if target_status != "Running" or running >= total:
            return "success", where
        return "waiting", where
    # A Stopped service never starts by itself; Running -> Stopped is the normal path of a stop.
    if on_version and (status in FAILED_STATUSES or (status == "Stopped" and target_status == "Running")):
        detail = " ".join(str(service.get(k)) for k in ("Reason", "Message") if service.get(k))
        return "failed", f"{where}{': ' + detail if detail else ''}"
    return "waiting", where


def warning_text(events: list[dict]) -> str:
    """The newest Warning events, oldest first, as one line each (the text a user needs to act)."""
    warnings = [e for e in events or [] if e.get("Type", "Warning") == "Warning"]
    return "\n".join(
        f"  {e.get('Time', '')} {e.get('Reason', '')}: {e.get('Message', '')}" for e in warnings[-WARNING_EVENTS_SHOWN:]
    )


def eas_schedule(poll_interval: float) -> PollSchedule:
    """EAS rollouts last minutes: poll every ``poll_interval``, backing off only on long waits."""
    return PollSchedule(poll_interval, min_latency=poll_interval, max_interval=max(poll_interval, 300.0))


class EasServiceTrigger(BaseTrigger):
    """Fire once the service reaches ``target_status`` (and ``version``), fails, or ``timeout`` passes.

    Events: ``{"status": "success" | "failed" | "timeout" | "error", "service_name", "version",
    "message", "service": {Status, CurrentVersion, LatestVersion, ...}}``. Only the connection id
    is serialized, never credentials.
    """

    def __init__(
        self,
        service_name: str,
        *,
        target_status: str = "Running",
        version: int | None = None,
        pai_conn_id: str = "pai_default",
        region_id: str | None = None,
        poll_interval: float = 30.0,
        timeout: float | None = None,
        newest: bool = False,
        end_cause: str = "timeout",
        rollback_to: int | None = None,
    ) -> None:
        super().__init__()
        self.service_name = service_name
        self.target_status = target_status
        self.version = version
        self.newest = newest
        self.pai_conn_id = pai_conn_id
        self.region_id = region_id
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.end_cause = end_cause  # what ``timeout`` stands for: "timeout" or "execution_timeout"
        # At the timeout no try of the task follows: put this version back (docs/timeouts-kills-retries.md).
        self.rollback_to = rollback_to

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "service_name": self.service_name,
                "target_status": self.target_status,
                "version": self.version,
                "pai_conn_id": self.pai_conn_id,
                "region_id": self.region_id,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "newest": self.newest,
                "end_cause": self.end_cause,
                "rollback_to": self.rollback_to,
            },
        )

    def _hook(self):
        from airflow_provider_pai.hooks.eas import EasHook

        return EasHook.shared(pai_conn_id=self.pai_conn_id, region_id=self.region_id)

    def _roll_back(self, hook) -> None:
        from airflow_provider_pai.operators.eas import switch_version  # the deferred path only

        self.log.info("No try of the task follows: rolling EAS service %s back to version %s",
                      self.service_name, self.rollback_to)
        switch_version(hook, self.service_name, self.rollback_to)

    def _event(self, status: str, message: str, service: dict | None = None) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "service_name": self.service_name,
                "version": self.version,
                "message": message,
                "service": summarize(service or {}),
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        last: dict[str, str] = {"where": ""}

        async def poll() -> tuple[bool, bool, Any]:
            service = await hook.describe_service_async(self.service_name)
            state, where = service_progress(
                service, target_status=self.target_status, version=self.version, newest=self.newest
            )
            changed = where != last["where"]
            if changed:
                self.log.info("EAS service %s: %s", self.service_name, where)
                last["where"] = where
            return state != "waiting", changed, (state, where, service)

        try:
            state, where, service = await wait_until_async(
                poll, eas_schedule(self.poll_interval), timeout=self.timeout
            )
        except PollTimeout as exc:
            _, where, service = exc.last_value or (None, "no answer yet", {})
            event = self._event("timeout", f"EAS service {self.service_name} still not done after "
                                f"{exc.waited:.0f} s ({where}; {self.end_cause}).", service)
            event.payload["cause"] = self.end_cause
            if self.rollback_to is not None:
                try:
                    await asyncio.to_thread(self._roll_back, hook)
                    event.payload["rolled_back"] = self.rollback_to
                except Exception as rollback_error:  # reported; the task fails either way
                    event.payload["message"] += f" Rolling back to version {self.rollback_to} failed: {rollback_error}"
            yield event
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the task, not the triggerer, should report a failed API call
            yield self._event("error", f"Waiting for EAS service {self.service_name} failed: {exc}")
            return
        if state == "success":
            yield self._event("success", f"EAS service {self.service_name} is {where}.", service)
            return
        events = ""
        try:
            events = warning_text(await hook.describe_service_events_async(self.service_name, event_type="Warning"))
        except Exception as exc:  # the failure itself matters more than its events
            events = f"  (could not read the service events: {exc})"
        yield self._event("failed", failure_message(self.service_name, where, events), service)


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
