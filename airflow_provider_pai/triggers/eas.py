"""Wait for a PAI-EAS service in the triggerer.

The async twin of ``mixins.eas``: the same pure step after each DescribeService
(``utils.eas.after_describe_service``), the same evidence on ``check`` and Warning events on a
failure (``EasHook.rollout_evidence_async``, ``EasHook.warning_events_async``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_pai.mixins.hook import EAS_HOOK, PaiHookMixin
from airflow_provider_pai.utils.eas import (  # noqa: F401  (re-exported: earlier home of these names)
    FAILED_STATUSES,
    ServiceWatch,
    after_describe_service,
    eas_schedule,
    failure_message,
    service_progress,
    summarize,
    warning_text,
)
from airflow_provider_pai.utils.polling import PollTimeout, end_time_epoch, time_left, wait_until_async


class EasServiceTrigger(PaiHookMixin, BaseTrigger):
    """Fire once the service reaches ``target_status`` (and ``version``), fails, or ``end_time`` passes.

    Events: ``{"status": "success" | "failed" | "timeout" | "error", "service_name", "version",
    "message", "service": {Status, CurrentVersion, LatestVersion, ...}}``. Only the connection id
    is serialized, never credentials.

    :param service_name: the EAS service.
    :param target_status: the status waited for (``Running``).
    :param version: the version that must be current (None: any).
    :param pai_conn_id: the connection; default: the hook's ``default_conn_name``.
    :param region_id: region; default: the connection's ``region_id`` extra.
    :param poll_interval: seconds between DescribeService calls (backing off on long waits).
    :param end_time: absolute deadline: epoch seconds or an ISO 8601 string (None: no limit).
    :param end_cause: what ``end_time`` stands for (``timeout`` or ``execution_timeout``), in the event.
    :param rollback_to: at ``end_time`` no try of the task follows: switch the service back to this
        version (the deploy's previous one) and say so in the event (``rolled_back``).
    :param newest: ``version`` was just deployed: a newer version taking over fails at once.
    :param timeout: deprecated, relative seconds from now; what a trigger row serialized by an
        earlier version holds. Converted to ``end_time`` (the clock restarts with the triggerer).
    """

    hook_class_path = EAS_HOOK
    shared_hook = True

    def __init__(
        self,
        service_name: str,
        *,
        target_status: str = "Running",
        version: int | None = None,
        pai_conn_id: str | None = None,
        region_id: str | None = None,
        poll_interval: float = 30.0,
        end_time: float | str | None = None,
        newest: bool = False,
        timeout: float | None = None,
        end_cause: str = "timeout",
        rollback_to: int | None = None,
    ) -> None:
        super().__init__()
        self._set_connection(pai_conn_id, region_id)
        self.service_name = service_name
        self.target_status = target_status
        self.version = version
        self.newest = newest
        self.poll_interval = poll_interval
        if end_time is None and timeout is not None:
            end_time = time.time() + float(timeout)
        self.end_time = end_time_epoch(end_time)
        self.end_cause = end_cause  # what end_time stands for: "timeout" or "execution_timeout"
        # At end_time no try of the task follows: put this version back (docs/timeouts-kills-retries.md).
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
                "end_time": self.end_time,
                "newest": self.newest,
                "end_cause": self.end_cause,
                "rollback_to": self.rollback_to,
            },
        )

    def _roll_back(self, hook) -> None:
        self.log.info("No try of the task follows: rolling EAS service %s back to version %s",
                      self.service_name, self.rollback_to)
        hook.switch_version(self.service_name, self.rollback_to)

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
        hook = self.hook
        watch = ServiceWatch(target_status=self.target_status, version=self.version, newest=self.newest)

        async def poll() -> tuple[bool, bool, Any]:
            service = await hook.describe_service_async(self.service_name)
            step = after_describe_service(watch, service)
            state, where, changed = step.state, step.where, step.changed
            if step.evidence:  # Running on another version: did EAS abandon the update? (F-EAS-6)
                state, where = watch.judge(service, *await hook.rollout_evidence_async(self.service_name))
            if changed:
                self.log.info("EAS service %s: %s", self.service_name, where)
            return state != "waiting", changed, (state, where, service)

        try:
            state, where, service = await wait_until_async(
                hook.current_poll(poll, lambda result: result[2][0] == "failed"),  # re-checked when the connection changed
                eas_schedule(self.poll_interval), timeout=time_left(self.end_time)
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
        events = warning_text(await hook.warning_events_async(self.service_name))
        yield self._event("failed", failure_message(self.service_name, where, events), service)
