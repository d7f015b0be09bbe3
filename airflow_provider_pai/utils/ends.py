"""How a wait ends, and whether the remote work it follows must be stopped: the one policy of
docs/timeouts-kills-retries.md, used by every operator, sensor and trigger.

Rule: one Airflow task instance never pays for two remote runs. While another try of the task
instance will follow, the remote work is left going and the next try reattaches to it; when none
follows (the last try, a hard stop, a user's action) it is stopped, if the task says so
(``cancel_on_kill`` / ``rollback_on_failure``).
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import timedelta
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException


def _airflow_3() -> bool:
    from airflow_provider_pai.version_compat import AIRFLOW_V_3_0_PLUS  # utils import nothing above them

    return AIRFLOW_V_3_0_PLUS


# Task instance states only a user's action (mark failed / success / skipped) gives a running try.
USER_ENDED_STATES = ("failed", "success", "skipped")
# How long on_kill may spend asking Airflow for the task's state (SIGKILL follows SIGTERM in 5 s).
STATE_QUERY_SECONDS = 3.0
# A deferred wait ends this long before execution_timeout, so the provider decides before Airflow
# 2's trigger timeout fails the task behind its back.
DEADLINE_MARGIN = 2.0


class WaitTimeout(AirflowException):
    """The operator's own wait ``timeout`` passed: an ordinary failure, retried while retries are left."""


def next_try_follows(ti: Any) -> bool:
    """Another try of this task instance runs if this one fails now (retries are left)."""
    if ti is None:
        return False
    from_server = getattr(ti, "_ti_context_from_server", None)
    if from_server is not None and getattr(from_server, "should_retry", None) is not None:
        return bool(from_server.should_retry)  # Airflow 3: what the API server decided
    eligible = getattr(ti, "is_eligible_to_retry", None)
    if callable(eligible):  # Airflow 2
        try:
            return bool(eligible())
        except Exception:
            pass
    task = getattr(ti, "task", None)
    retries = getattr(task, "retries", 0) or 0
    try_number, max_tries = getattr(ti, "try_number", None), getattr(ti, "max_tries", None)
    if try_number is None or max_tries is None:
        return retries > 0
    return bool(retries) and try_number <= max_tries


def in_task_timeout() -> bool:
    """Called from ``on_kill``: True when Airflow is handling an ``execution_timeout`` right now.

    Both Airflow 2.11 and 3.3 call ``on_kill()`` from the ``except AirflowTaskTimeout`` block.
    """
    exc = sys.exc_info()[1]
    return exc is not None and type(exc).__name__ == "AirflowTaskTimeout"


def _own_state(ti: Any) -> str | None:
    if _airflow_3():
        states = ti.get_task_states(dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id],
                                    map_index=ti.map_index if ti.map_index >= 0 else None)
        found = (states or {}).get(ti.run_id) or {}
        value = found.get(ti.task_id, found.get(f"{ti.task_id}_{ti.map_index}"))
    else:
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session

        with create_session() as session:
            value = (
                session.query(TaskInstance.state)
                .filter_by(dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index)
                .scalar()
            )
    return None if value is None else str(getattr(value, "value", value))


def ended_by_user(ti: Any) -> bool | None:
    """After SIGTERM: did a user end this try (True), or is the worker going away (False)?

    Asked in a thread with a bound: the signal may have interrupted the main thread while it held
    the channel to Airflow. None when the state could not be read in time.
    """
    if ti is None:
        return None
    box: dict[str, Any] = {}

    def ask() -> None:
        try:
            box["state"] = _own_state(ti)
        except Exception as exc:  # noqa: BLE001 - reported as "unknown"
            box["error"] = exc

    thread = threading.Thread(target=ask, daemon=True, name="pai-own-state")
    thread.start()
    thread.join(STATE_QUERY_SECONDS)
    if "state" not in box:
        return None
    return box["state"] in USER_ENDED_STATES


def stop_on_kill(ti: Any, log: Any = None) -> bool:
    """From ``on_kill``: must the remote work stop? (The caller also checks cancel_on_kill.)"""
    if in_task_timeout():
        follows = next_try_follows(ti)
        if log:
            log.info("execution_timeout: %s", "a retry follows and reattaches; the remote run goes on"
                     if follows else "no retry follows")
        return not follows
    if ended_by_user(ti):
        if log:
            log.info("Task killed by a user's action.")
        return True
    # A shutdown, or a kill we cannot attribute: leave the run to the next try if one follows (never
    # pay twice); with no try to follow, nothing would ever watch it again, so the wait ends for good.
    follows = next_try_follows(ti)
    if log:
        log.info("Task killed without a user's action (worker shutdown?): %s",
                 "the remote run goes on for the next try" if follows else "no try of this task follows")
    return not follows


def execution_deadline(context: Any) -> float | None:
    """Epoch seconds when this try's ``execution_timeout`` runs out (None: no execution_timeout)."""
    task, ti = context.get("task"), context.get("ti")
    limit = getattr(task, "execution_timeout", None)
    start = getattr(ti, "start_date", None)
    if not limit:
        return None
    started = start.timestamp() if start is not None else time.time()
    return started + limit.total_seconds()


def wait_end(context: Any, timeout: float | None) -> tuple[float | None, str]:
    """(epoch end, cause) of a deferred wait: the earlier of ``timeout`` and the execution deadline."""
    now = time.time()
    own = None if timeout is None else now + timeout
    deadline = execution_deadline(context)
    if deadline is not None:
        deadline = max(deadline - DEADLINE_MARGIN, now)
        if own is None or deadline < own:
            return deadline, "execution_timeout"
    return own, "timeout"


def wait_is_final(ti: Any, cause: str, retry_on_timeout: bool) -> bool:
    """Does the wait's end end this task for good, so the remote work must be undone there?

    Yes when no try follows, or when the end is the wait's own ``timeout`` and a timeout is not
    retried. ``retry_on_timeout`` is what the task class says (an operator's parameter; a sensor's
    class attribute is False: Airflow never retries an ``AirflowSensorTimeout``).
    """
    return not next_try_follows(ti) or (cause == "timeout" and not retry_on_timeout)


def defer_backstop(end_time: float | None, poll_interval: float = 0.0) -> timedelta | None:
    """``timeout`` of ``self.defer``: only a backstop (a triggerer gone for good), since the trigger
    ends the wait itself at ``end_time``; a few polls and a minute later than that."""
    if end_time is None:
        return None
    return timedelta(seconds=max(end_time - time.time(), 0.0) + 5 * poll_interval + 60)
