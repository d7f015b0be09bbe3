"""What a DataWorks instance's state means: statuses, one wait's state, summaries, run names.

Pure logic, no I/O and no Airflow imports: the operator, the sensor, the wait mixin and the
trigger all decide from these, so a blocking wait and a deferred one agree on every outcome.
DataWorks writes enum values both bare and with their code (``SUCCESS`` and ``SUCCESS(6)``,
``SUPPLY_DATA(3)``); every comparison goes through ``enum_name`` so either form works.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from airflow_provider_pai.utils.polling import PollSchedule
from airflow_provider_pai.utils.status_meanings import Meaning, dataworks_meaning, enum_name, is_skip  # noqa: F401

# DataWorks bills every call and the Basic edition allows 100 a day. Status polls come first (they
# bound how late the end is noticed). While the instance runs, a line DataWorks writes reaches the
# task log within max(LOG_LATENCY, two polls): at each poll the log is fetched when the next poll
# would come too late for that. The cadence follows the run's time, not a count of polls, so short
# runs stream too; it costs at most one GetInstanceLog per max(60 s, two polls) while the instance
# runs, none while it waits, and one at the end (so every line still reaches the task log).
LOG_LATENCY = 60.0
TAIL_LINES = 20


class DataWorksInstanceStatus(str, Enum):
    """Instance statuses of GetInstance/ListInstances (``Status``), compared by name."""

    NOT_RUN = "NOT_RUN"
    WAIT_TIME = "WAIT_TIME"
    WAIT_RESOURCE = "WAIT_RESOURCE"
    WAIT_TRIGGER = "WAIT_TRIGGER"
    RUNNING = "RUNNING"
    CHECKING = "CHECKING"
    CHECKING_CONDITION = "CHECKING_CONDITION"
    FAILURE = "FAILURE"
    SUCCESS = "SUCCESS"

    @classmethod
    def is_terminal(cls, value: Any) -> bool:
        """DataWorks leaves neither SUCCESS nor FAILURE by itself (a rerun is a new attempt); every
        other status means keep waiting (``utils.status_meanings.DATAWORKS_STATUS_MEANINGS``)."""
        return dataworks_meaning(value) is Meaning.TERMINAL

    @classmethod
    def is_success(cls, value: Any) -> bool:
        return enum_name(value) == cls.SUCCESS.value

    @classmethod
    def is_failure(cls, value: Any) -> bool:
        return enum_name(value) == cls.FAILURE.value

    @classmethod
    def is_running(cls, value: Any) -> bool:
        return enum_name(value) == cls.RUNNING.value


# Kept for callers of the earlier module layout: the bare names of the terminal statuses.
TERMINAL_STATUSES = (DataWorksInstanceStatus.SUCCESS.value, DataWorksInstanceStatus.FAILURE.value)


def instance_elapsed(instance: dict, now: float | None = None) -> float | None:
    """Seconds a DataWorks instance has been running (epoch-ms BeginRunningTime), None before it starts."""
    begin = instance.get("BeginRunningTime")
    if not begin:
        return None
    now = time.time() if now is None else now
    return max(now - begin / 1000.0, 0.0)


def expected_duration_from_history(instances: list[dict]) -> float | None:
    """Median duration in seconds of finished SUCCESS runs among DataWorks ListInstances dicts."""
    durations = []
    for inst in instances or []:
        begin, finish = inst.get("BeginRunningTime"), inst.get("FinishTime")
        if DataWorksInstanceStatus.is_success(inst.get("Status")) and begin and finish and finish > begin:
            durations.append((finish - begin) / 1000.0)
    if not durations:
        return None
    # The median by hand: the statistics module costs more to import than this whole module.
    durations.sort()
    middle = len(durations) // 2
    return durations[middle] if len(durations) % 2 else (durations[middle - 1] + durations[middle]) / 2


class InstanceWatch:
    """What one wait on an instance has seen and shown so far; JSON-able (reschedules, deferral).

    It decides when to fetch the instance log (economy: every DataWorks call counts against a
    daily quota) and which log lines are new, so each remote line reaches the Airflow log once.
    """

    def __init__(
        self,
        instance_id: int,
        project_env: str = "PROD",
        *,
        schedule: PollSchedule | None = None,
        status: str | None = None,
        lines_shown: int = 0,
        polls: int = 0,
        log_fetches: int = 0,
        started_at: float | None = None,
        log_at: float = 0.0,
        api_version: str | None = None,
        stream_log: bool = True,
        begin_at: float | None = None,
        node_id: Any = None,
        log_interval: float | None = None,
        said_at: float | None = None,
    ) -> None:
        self.instance_id = int(instance_id)
        # The run's BeginRunningTime (epoch s) once a poll saw it: the age a trigger plans its first sleep by.
        self.begin_at = begin_at
        # The DataWorks OpenAPI the instance is followed with (None: the hook decides, see DataWorksHook).
        self.api_version = api_version
        self.project_env = project_env
        self.schedule = schedule or PollSchedule()
        self.status = status
        self.lines_shown = lines_shown
        self.polls = polls
        self.log_fetches = log_fetches
        self.started_at = time.time() if started_at is None else started_at
        # The run's age (``elapsed``) at the last log fetch: lines written since then are not shown yet.
        self.log_at = log_at
        # False: the log is fetched once, at the end (the call budget of a wait without history).
        self.stream_log = stream_log
        # The node id the task was given (XCom ``node_id``); on 2024-05-18 not the instance's task id.
        self.node_id = node_id
        # The task's log cadence (seconds) while the instance runs; None: max(LOG_LATENCY, two polls).
        self.log_interval = log_interval
        # When this wait last wrote a line to the task log (epoch s): it says "no log yet" after a minute.
        self.said_at = said_at

    @property
    def done(self) -> bool:
        return DataWorksInstanceStatus.is_terminal(self.status)

    def observe(self, instance: dict) -> bool:
        """Record one GetInstance answer; True when the status differs from the last one seen."""
        status = instance.get("Status")
        changed = status != self.status
        self.status = status
        self.polls += 1
        if instance.get("BeginRunningTime"):
            self.begin_at = instance["BeginRunningTime"] / 1000.0
        if self.log_interval and self.stream_log:
            # A tighter log cadence needs polls at least that close until the end: a wait for the run to
            # start cannot know it started without a poll (GetInstance only: no log call before it runs).
            self.schedule.cap = None if self.done else self.log_interval
        return changed

    def wants_log(self, instance: dict | None = None, changed: bool = False) -> bool:
        """Fetch the log now? Always at the end; while RUNNING, when waiting for the next poll would
        show a line written since the last fetch later than max(LOG_LATENCY, two polls)."""
        if self.done:
            return True
        if not self.stream_log:
            return False
        if not DataWorksInstanceStatus.is_running(self.status):
            return False  # an instance waiting for its time or resources writes nothing worth a call
        elapsed = self.elapsed(instance)
        upcoming = self.upcoming_sleep(elapsed, changed)
        latency = self.log_interval if self.log_interval else max(LOG_LATENCY, 2 * upcoming)
        return elapsed + upcoming > self.log_at + latency

    def upcoming_sleep(self, elapsed: float, changed: bool) -> float:
        """The sleep the wait is about to take (the schedule's answer, computed on a copy)."""
        return PollSchedule.from_dict(self.schedule.to_dict()).next_interval(elapsed, changed)

    def new_lines(self, log_text: str | None) -> list[str]:
        """Lines of the whole-log-so-far text not shown yet; a trailing partial line waits for its end."""
        self.log_fetches += 1
        text = log_text or ""
        lines = text.splitlines()
        if lines and not text.endswith("\n") and not self.done:
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

    def first_trigger_delay(self) -> float:
        """A trigger's first sleep after the worker's poll: the schedule's answer for the run's age now
        (the expected end may come before first_interval), never longer than first_interval."""
        age = max(time.time() - self.begin_at, 0.0) if self.begin_at is not None else self.elapsed(None)
        planned = PollSchedule.from_dict(self.schedule.to_dict()).next_interval(age, False)
        return min(self.schedule.first_interval, planned)

    def to_dict(self) -> dict:
        return {
            "instance_id": self.instance_id,
            "project_env": self.project_env,
            "schedule": self.schedule.to_dict(),
            "status": self.status,
            "lines_shown": self.lines_shown,
            "polls": self.polls,
            "log_fetches": self.log_fetches,
            "started_at": self.started_at,
            "log_at": self.log_at,
            "api_version": self.api_version,
            "stream_log": self.stream_log,
            "begin_at": self.begin_at,
            "node_id": self.node_id,
            "log_interval": self.log_interval,
            "said_at": self.said_at,
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
            log_fetches=d.get("log_fetches", 0),
            started_at=d.get("started_at"),
            log_at=d.get("log_at", 0.0),
            api_version=d.get("api_version"),
            stream_log=d.get("stream_log", True),
            begin_at=d.get("begin_at"),
            node_id=d.get("node_id"),
            log_interval=d.get("log_interval"),
            said_at=d.get("said_at"),
        )


@dataclass(frozen=True)
class NextStep:
    """What a wait does after one GetInstance answer (``after_get_instance``)."""

    previous_status: str | None
    changed: bool  # the status differs from the last one seen: log the transition
    fetch_log: bool  # GetInstanceLog is worth a call now (then ``watch.new_lines``)
    done: bool  # the instance ended: finish once the log (if fetched) is shown


def after_get_instance(watch: InstanceWatch, instance: dict) -> NextStep:
    """The one pure step of every DataWorks wait (worker and triggerer): record, then decide."""
    previous = watch.status
    changed = watch.observe(instance)
    fetch_log = watch.wants_log(instance, changed)
    if fetch_log:
        watch.log_at = watch.elapsed(instance)
    return NextStep(previous, changed, fetch_log, watch.done)


def transition_text(instance_id: Any, step: NextStep, status: Any) -> str:
    """``A -> B`` on a change; the first status seen is just stated (there is no "before")."""
    if step.previous_status is None:
        text = f"DataWorks instance {instance_id}: {status}"
    else:
        text = f"DataWorks instance {instance_id}: {step.previous_status} -> {status}"
    if dataworks_meaning(status) is None:  # never a success: waited on until it ends or times out
        text += " (a status with no documented meaning: waiting on it)"
    return text


def waiting_text(watch: InstanceWatch, step: NextStep, instance: dict, now: float | None = None) -> str | None:
    """A line while nothing else is said: at the first poll and after each silent minute, until the
    instance ends or its log shows, say its status, that no log line has come yet and when the next
    check is, so a task log is never silent for a minute without a poll being the cause."""
    now = time.time() if now is None else now
    if step.changed or step.fetch_log:
        watch.said_at = now  # a transition or log lines were just written
    if watch.done or watch.lines_shown:
        return None
    if watch.polls > 1 and watch.said_at is not None and now - watch.said_at < LOG_LATENCY:
        return None
    watch.said_at = now
    upcoming = watch.upcoming_sleep(watch.elapsed(instance), False)
    why = ("DataWorks writes it once the instance runs" if not DataWorksInstanceStatus.is_running(watch.status)
           else "stream_log=False: it is fetched once, at the end" if not watch.stream_log
           else "none written yet" if watch.log_fetches
           # Not read yet: lines may be written already, say when they will show instead.
           else f"read every {watch.log_interval:.0f} s while it runs" if watch.log_interval
           else "read within its first minute of running")
    return (f"DataWorks instance {watch.instance_id} is {watch.status}: no log yet ({why}); "
            f"next check in {upcoming:.0f} s.")


def log_lines_to_show(watch: InstanceWatch, log_text: str | None) -> list[str]:
    """The task-log lines for the new part of the instance log: each prefixed ``[dataworks]``, the
    first batch after a line saying whose clock its timestamps are (DataWorks writes its own)."""
    first = watch.lines_shown == 0
    new = watch.new_lines(log_text)
    if not new:
        return []
    header = [
        f"DataWorks log of instance {watch.instance_id} (the times in its lines are DataWorks' own, "
        "UTC+8 in the Chinese mainland regions; Airflow's are UTC):"
    ] if first else []
    return header + [f"[dataworks] {line}" for line in new]


def _iso(ms: Any) -> str | None:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat() if ms else None


def task_type_name(instance: dict) -> str:
    """``"PAUSE(2)"`` -> ``"PAUSE"``."""
    return enum_name(instance.get("TaskType") or "NORMAL") or "NORMAL"


def instance_summary(instance: dict, project_env: str, node_id: Any = None) -> dict:
    """The small JSON-able result a successful wait returns to XCom.

    ``node_id`` is the node the task was given, as in TriggerDesignerNodeOperator's XCom; on
    2024-05-18 the instance names its scheduled task (``TaskId``), returned as ``task_id``, and
    ``node_id`` is None when the wait was given only an instance id (F-DW24-10).
    """
    begin, finish = instance.get("BeginRunningTime"), instance.get("FinishTime")
    task_id = instance.get("TaskId")  # only in the 2024-05-18 shape (task_instance_as_v2020)
    extra = {"task_id": task_id} if task_id is not None else {}
    if node_id is None and task_id is None:
        node_id = instance.get("NodeId")  # 2020-05-18: the instance names its node
    return {
        **extra,
        "instance_id": instance.get("InstanceId"),
        "project_env": project_env,
        "status": instance.get("Status"),
        "node_id": node_id,
        "node_name": instance.get("NodeName"),
        "dag_id": instance.get("DagId"),
        "task_type": task_type_name(instance),
        "skipped": is_skip(task_type_name(instance)),  # SKIP.., CONDITION_UNCHOOSE (F-DW-4)
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
    if kind == "PAUSE_CALENDAR":  # 2024-05-18 TriggerRecurrence PauseCalendar (F-DW24-18)
        return (
            f"DataWorks instance {iid} is PAUSED BY THE SCHEDULING CALENDAR (TriggerRecurrence PauseCalendar): "
            "the node was not run and the instance was set to FAILURE. Change the node's scheduling calendar "
            "in DataWorks, or pick a business date it runs on, then retry."
        )
    if is_skip(kind):
        return (
            f"DataWorks instance {iid} was SKIPPED (TaskType {kind}): DataWorks set it to SUCCESS "
            "without running it, so it produced no new output."
        )
    return None


def log_tail(log_text: str | None) -> list[str]:
    return (log_text or "").splitlines()[-TAIL_LINES:]


def failure_text(summary: dict, note: str | None, tail: list[str], link_url: str = "") -> str:
    """Why a wait failed: the instance's end, its last log lines and where to look."""
    lines = "\n".join(f"    {line}" for line in tail[-TAIL_LINES:]) or "    (the log is empty)"
    return (
        f"DataWorks instance {summary.get('instance_id')} (node {summary.get('node_name')}) ended "
        f"{summary.get('status')}."
        + (f" {note}" if note else "")
        + f"\nLast lines of its log:\n{lines}\n"
        + (f"Operation Center: {link_url}\n" if link_url else "")
        + "Fix the cause in the Designer pipeline or DataWorks, then clear this task to run it again."
    )


# Run names and the inputs of a run: split out to keep this module readable; importable from here too.
from airflow_provider_pai.utils.dataworks_runs import (  # noqa: E402,F401
    MIN_LOG_INTERVAL,
    SUPPLY_DATA,
    is_backfill_dag,
    parse_instance_target,
    run_name,
    validate_log_interval,
    validate_node_params,
)
