"""Waiting for a DataWorks instance: the state one wait keeps, and the trigger that waits in the triggerer.

``InstanceWatch`` is shared by the worker path (``WaitForInstanceSensor`` and
``TriggerDesignerNodeOperator(wait_for_completion=True)``) and by ``DataWorksInstanceTrigger``: it
decides when to fetch the instance log (economy: every DataWorks call counts against a daily
quota) and which log lines are new, so each remote line reaches the Airflow log exactly once.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, AsyncIterator

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_pai.utils.polling import PollSchedule, PollTimeout, instance_elapsed, wait_until_async

TERMINAL_STATUSES = ("SUCCESS", "FAILURE")
# DataWorks bills every call and the Basic edition allows 100 a day. Status polls come first (they
# bound how late the end is noticed); the log is fetched while the instance runs only when a wait's
# calls stay within CALL_BUDGET of what fixed 30 s polling would have spent by then, at most every
# LOG_EVERY_POLLS polls, and always once at the end, so every line still reaches the task log.
LOG_EVERY_POLLS = 4
CALL_BUDGET = 0.25
FIXED_POLL_SECONDS = 30.0
TAIL_LINES = 20


class InstanceWatch:
    """What one wait on an instance has seen and shown so far; JSON-able (reschedules, deferral)."""

    def __init__(
        self,
        instance_id: int,
        project_env: str = "PROD",
        *,
        schedule: PollSchedule | None = None,
        status: str | None = None,
        lines_shown: int = 0,
        polls: int = 0,
        polls_since_log: int = 0,
        log_fetches: int = 0,
        started_at: float | None = None,
    ) -> None:
        self.instance_id = int(instance_id)
        self.project_env = project_env
        self.schedule = schedule or PollSchedule()
        self.status = status
        self.lines_shown = lines_shown
        self.polls = polls
        self.polls_since_log = polls_since_log
        self.log_fetches = log_fetches
        self.started_at = time.time() if started_at is None else started_at

    def observe(self, instance: dict) -> bool:
        """Record one GetInstance answer; True when the status differs from the last one seen."""
        status = instance.get("Status")
        changed = status != self.status
        self.status = status
        self.polls += 1
        self.polls_since_log += 1
        return changed

    def wants_log(self, instance: dict | None = None) -> bool:
        if self.status in TERMINAL_STATUSES:
            return True
        if self.status != "RUNNING" or self.polls_since_log < LOG_EVERY_POLLS:
            return False  # waiting instances have no log yet
        fixed_polling_calls = self.elapsed(instance) / FIXED_POLL_SECONDS + 1
        return self.polls + self.log_fetches + 1 <= CALL_BUDGET * fixed_polling_calls

    def new_lines(self, log_text: str | None) -> list[str]:
        """Lines of the whole-log-so-far text not shown yet; a trailing partial line waits for its end."""
        self.polls_since_log = 0
        self.log_fetches += 1
        text = log_text or ""
        lines = text.splitlines()
        if lines and not text.endswith("\n") and self.status not in TERMINAL_STATUSES:
            lines = lines[:-1]
        if len(lines) < self.lines_shown:
            # A rerun (RestartInstance) starts a new log: show it from its first line.
            self.lines_shown = 0
        new = lines[self.lines_shown :]
        self.lines_shown = len(lines)
        return new

    def elapsed(self, instance: dict | None) -> float:
        """The run's age for the poll schedule: from the instance's start, else from this wait's."""
        remote = instance_elapsed(instance) if instance else None
        return remote if remote is not None else max(time.time() - self.started_at, 0.0)

    def to_dict(self) -> dict:
        return {
            "instance_id": self.instance_id,
            "project_env": self.project_env,
            "schedule": self.schedule.to_dict(),
            "status": self.status,
            "lines_shown": self.lines_shown,
            "polls": self.polls,
            "polls_since_log": self.polls_since_log,
            "log_fetches": self.log_fetches,
            "started_at": self.started_at,
        }

    @classmethod
    def from_dict(cls, d: dict) -> InstanceWatch:
        return cls(
            d["instance_id"],
            d.get("project_env", "PROD"),
            schedule=PollSchedule.from_dict(d.get("schedule") or {}),
            status=d.get("status"),
            lines_shown=d.get("lines_shown", 0),
            polls=d.get("polls", 0),
            polls_since_log=d.get("polls_since_log", 0),
            log_fetches=d.get("log_fetches", 0),
            started_at=d.get("started_at"),
        )


def _iso(ms: Any) -> str | None:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat() if ms else None


def task_type_name(instance: dict) -> str:
    """``"PAUSE(2)"`` -> ``"PAUSE"``."""
    return str(instance.get("TaskType") or "NORMAL").split("(", 1)[0]


def instance_summary(instance: dict, project_env: str) -> dict:
    """The small JSON-able result a successful wait returns to XCom."""
    begin, finish = instance.get("BeginRunningTime"), instance.get("FinishTime")
    return {
        "instance_id": instance.get("InstanceId"),
        "project_env": project_env,
        "status": instance.get("Status"),
        "node_id": instance.get("NodeId"),
        "node_name": instance.get("NodeName"),
        "dag_id": instance.get("DagId"),
        "task_type": task_type_name(instance),
        "skipped": task_type_name(instance).startswith("SKIP"),
        "begin_running_time": _iso(begin),
        "finish_time": _iso(finish),
        "duration_seconds": (finish - begin) / 1000.0 if begin and finish else None,
    }


def end_note(instance: dict) -> str | None:
    """A plain sentence when the instance ended without running (frozen or skipped node)."""
    kind = task_type_name(instance)
    iid = instance.get("InstanceId")
    if kind == "PAUSE":
        return (
            f"DataWorks instance {iid} is FROZEN (TaskType PAUSE): the node was not run and the "
            "instance was set to FAILURE. Unfreeze the node in DataWorks Operation Center, then retry."
        )
    if kind.startswith("SKIP"):
        return (
            f"DataWorks instance {iid} was SKIPPED (TaskType {kind}): DataWorks set it to SUCCESS "
            "without running it, so it produced no new output."
        )
    return None


class DataWorksInstanceTrigger(BaseTrigger):
    """Poll a DataWorks instance with the hook's async calls until it ends or ``end_time`` passes.

    Streams new instance-log lines into the trigger's log and yields one ``TriggerEvent``:
    ``{"status": "success"|"failure"|"timeout", "instance": {...}, "message", "log_tail",
    "lines_shown", "instance_status"}``. ``watch`` is an ``InstanceWatch.to_dict()`` (poll
    schedule and log lines already shown); ``end_time`` is epoch seconds (None: no limit).
    """

    def __init__(
        self,
        instance_id: int,
        project_env: str = "PROD",
        pai_conn_id: str = "pai_default",
        *,
        watch: dict | None = None,
        end_time: float | None = None,
        cancel_on_kill: bool = True,
        stop_at_end: bool = False,
        end_cause: str = "timeout",
    ) -> None:
        super().__init__()
        self.instance_id = int(instance_id)
        self.project_env = project_env
        self.pai_conn_id = pai_conn_id
        self.watch = watch or InstanceWatch(instance_id, project_env).to_dict()
        self.end_time = end_time
        self.cancel_on_kill = cancel_on_kill
        # At end_time, no try of the task follows: stop the instance (docs/timeouts-kills-retries.md).
        self.stop_at_end = stop_at_end
        self.end_cause = end_cause  # "timeout" (the wait's) or "execution_timeout"
        self._hook = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "instance_id": self.instance_id,
                "project_env": self.project_env,
                "pai_conn_id": self.pai_conn_id,
                "watch": self.watch,
                "end_time": self.end_time,
                "cancel_on_kill": self.cancel_on_kill,
                "stop_at_end": self.stop_at_end,
                "end_cause": self.end_cause,
            },
        )

    @property
    def hook(self):
        if self._hook is None:
            from airflow_provider_pai.hooks.dataworks import DataWorksHook

            self._hook = DataWorksHook.shared(pai_conn_id=self.pai_conn_id)
        return self._hook

    async def _poll(self, watch: InstanceWatch) -> tuple[bool, bool, dict]:
        instance = await self.hook.get_instance_async(self.instance_id, project_env=self.project_env)
        previous = watch.status
        changed = watch.observe(instance)
        if changed:
            self.log.info("DataWorks instance %s: %s -> %s", self.instance_id, previous, watch.status)
        if watch.wants_log(instance):
            text = await self.hook.get_instance_log_async(self.instance_id, project_env=self.project_env)
            for line in watch.new_lines(text):
                self.log.info("[dataworks] %s", line)
            self._last_log = text
        return watch.status in TERMINAL_STATUSES, changed, instance

    async def run(self) -> AsyncIterator[TriggerEvent]:
        watch = InstanceWatch.from_dict(self.watch)
        self._last_log = None
        timeout = None if self.end_time is None else max(self.end_time - time.time(), 0.0)
        try:
            instance = await wait_until_async(
                lambda: self._poll(watch),
                watch.schedule,
                timeout=timeout,
                elapsed_fn=watch.elapsed,
                # The worker polled just before deferring: don't spend that call again at once.
                first_delay=watch.schedule.first_interval if watch.polls else 0.0,
            )
        except PollTimeout as exc:
            self.watch = watch.to_dict()
            stopped = False
            if self.stop_at_end and watch.status not in TERMINAL_STATUSES:
                self.log.info("Wait over (%s) and no try of the task follows: stopping DataWorks instance %s",
                              self.end_cause, self.instance_id)
                try:
                    await self.hook.stop_instance_async(self.instance_id, project_env=self.project_env)
                    stopped = True
                except Exception as stop_error:  # the event still reports the timeout, and this
                    self.log.warning("Could not stop DataWorks instance %s: %s", self.instance_id, stop_error)
            what = "execution_timeout" if self.end_cause == "execution_timeout" else "timeout"
            yield TriggerEvent(
                {
                    "status": "timeout",
                    "cause": self.end_cause,
                    "stopped": stopped,
                    "instance_id": self.instance_id,
                    "instance_status": watch.status,
                    "lines_shown": watch.lines_shown,
                    "message": f"DataWorks instance {self.instance_id} is still {watch.status} after "
                    f"waiting {exc.waited:.0f} s ({what}).",
                }
            )
            return
        except Exception as exc:  # the event carries the error; the worker raises it with context
            yield TriggerEvent(
                {
                    "status": "error",
                    "instance_id": self.instance_id,
                    "instance_status": watch.status,
                    "lines_shown": watch.lines_shown,
                    "message": f"Waiting for DataWorks instance {self.instance_id} failed: {exc}",
                }
            )
            return
        self.watch = watch.to_dict()
        ok = instance.get("Status") == "SUCCESS"
        yield TriggerEvent(
            {
                "status": "success" if ok else "failure",
                "instance_id": self.instance_id,
                "instance_status": instance.get("Status"),
                "instance": instance_summary(instance, self.project_env),
                "note": end_note(instance),
                "lines_shown": watch.lines_shown,
                "log_tail": (self._last_log or "").splitlines()[-TAIL_LINES:],
            }
        )

    async def on_kill(self) -> None:
        """Airflow 3.3+: the user killed the deferred task; stop the instance it was waiting for."""
        if not self.cancel_on_kill:
            return
        self.log.info("Task killed: stopping DataWorks instance %s", self.instance_id)
        await self.hook.stop_instance_async(self.instance_id, project_env=self.project_env)
