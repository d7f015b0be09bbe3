"""Wait for a DataWorks instance in the triggerer.

The wait's state (``InstanceWatch``) and the step taken after each GetInstance
(``after_get_instance``) live in ``utils.dataworks``; the worker-side wait
(``mixins.dataworks.DataWorksInstanceWaitMixin``) takes the same step, so a deferred wait and a
blocking one poll, stream the log and end identically.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_pai.mixins.hook import DATAWORKS_HOOK, PaiHookMixin
from airflow_provider_pai.utils.dataworks import (  # noqa: F401  (re-exported: earlier home of these names)
    TAIL_LINES,
    TERMINAL_STATUSES,
    DataWorksInstanceStatus,
    InstanceWatch,
    after_get_instance,
    end_note,
    instance_summary,
    log_lines_to_show,
    log_tail,
    task_type_name,
    transition_text,
    waiting_text,
)
from airflow_provider_pai.utils.polling import PollTimeout, end_time_epoch, time_left, wait_until_async

# Below Airflow's default [triggerer] on_kill_timeout (30 s), so the error is ours to log.
ON_KILL_STOP_TIMEOUT = 25.0


class DataWorksInstanceTrigger(PaiHookMixin, BaseTrigger):
    """Poll a DataWorks instance with the hook's async calls until it ends or ``end_time`` passes.

    Streams new instance-log lines into the trigger's log and yields one ``TriggerEvent``:
    ``{"status": "success"|"failed"|"timeout"|"error", "instance": {summary}, "note", "message",
    "lines_shown", "instance_status"}``: small, as Airflow logs every event whole (the log lines
    are in the task log already; the worker reads the last ones again only for a failure message).

    :param instance_id: the DataWorks instance.
    :param project_env: ``PROD`` or ``DEV``.
    :param pai_conn_id: the connection (only its id is serialized, never credentials).
    :param region_id: region; default: the connection's ``region_id`` extra.
    :param watch: an ``InstanceWatch.to_dict()`` (poll schedule and log lines already shown).
    :param end_time: absolute deadline: epoch seconds or an ISO 8601 string (None: no limit).
    :param cancel_on_kill: stop the instance when the deferred task is killed (Airflow 3.3+).
    :param stop_at_end: stop the instance at ``end_time``: no try of the task follows then.
    :param end_cause: what ``end_time`` stands for (``timeout`` or ``execution_timeout``), in the event.
    """

    hook_class_path = DATAWORKS_HOOK
    shared_hook = True

    def __init__(
        self,
        instance_id: int,
        project_env: str = "PROD",
        pai_conn_id: str | None = None,
        *,
        region_id: str | None = None,
        watch: dict | None = None,
        end_time: float | str | None = None,
        cancel_on_kill: bool = True,
        stop_at_end: bool = False,
        end_cause: str = "timeout",
    ) -> None:
        super().__init__()
        self._set_connection(pai_conn_id, region_id)
        self.instance_id = int(instance_id)
        self.project_env = project_env
        self.watch = watch or InstanceWatch(instance_id, project_env).to_dict()
        self.end_time = end_time_epoch(end_time)
        self.cancel_on_kill = cancel_on_kill
        # At end_time no try of the task follows: stop the instance (docs/timeouts-kills-retries.md).
        self.stop_at_end = stop_at_end
        self.end_cause = end_cause  # what end_time stands for: "timeout" or "execution_timeout"

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "instance_id": self.instance_id,
                "project_env": self.project_env,
                "pai_conn_id": self.pai_conn_id,
                "region_id": self.region_id,
                "watch": self.watch,
                "end_time": self.end_time,
                "cancel_on_kill": self.cancel_on_kill,
                "stop_at_end": self.stop_at_end,
                "end_cause": self.end_cause,
            },
        )

    async def _runs(self, watch: InstanceWatch):
        """The hook's run object of the watch's API (chosen by the task before deferring)."""
        return await self.hook.runs_async(watch.api_version, instance_id=self.instance_id,
                                          project_env=self.project_env)

    async def _poll(self, watch: InstanceWatch) -> tuple[bool, bool, dict]:
        runs = await self._runs(watch)
        instance = await runs.get_instance_async(self.instance_id, self.project_env)
        step = after_get_instance(watch, instance)
        if step.changed:
            self.log.info("%s", transition_text(self.instance_id, step, watch.status))
        if step.fetch_log:
            text = await runs.get_log_async(self.instance_id, self.project_env)
            for line in log_lines_to_show(watch, text):
                self.log.info("%s", line)
        waiting = waiting_text(watch, step, instance)
        if waiting:
            self.log.info("%s", waiting)
        return step.done, step.changed, instance

    def _event(self, status: str, watch: InstanceWatch, **fields: Any) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "instance_id": self.instance_id,
                "instance_status": watch.status,
                "lines_shown": watch.lines_shown,
                "api_version": watch.api_version,  # the worker reads a failed run's log through the same API
                **fields,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        watch = InstanceWatch.from_dict(self.watch)
        try:
            instance = await wait_until_async(
                self.hook.current_poll(lambda: self._poll(watch)),  # an error is re-checked when the connection changed
                watch.schedule,
                timeout=time_left(self.end_time),
                elapsed_fn=watch.elapsed,
                # The worker polled just before deferring: don't spend that call again at once; sleep as
                # the schedule says for the run's age (at most first_interval), so an expected end is met;
                # a tighter log cadence caps that wait too.
                first_delay=min(watch.first_trigger_delay(), watch.schedule.cap or float("inf")) if watch.polls else 0.0,
            )
        except PollTimeout as exc:
            self.watch = watch.to_dict()
            stopped = await self._stop_at_end(watch)
            yield self._event(
                "timeout", watch, cause=self.end_cause, stopped=stopped,
                message=f"DataWorks instance {self.instance_id} is still {watch.status} after waiting "
                f"{exc.waited:.0f} s ({self.end_cause}).",
            )
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the event carries the error; the worker raises it with context
            yield self._event("error", watch, message=f"Waiting for DataWorks instance {self.instance_id} failed: {exc}")
            return
        self.watch = watch.to_dict()
        yield self._event(
            "success" if DataWorksInstanceStatus.is_success(instance.get("Status")) else "failed",
            watch,
            instance_status=instance.get("Status"),
            instance=instance_summary(instance, self.project_env, node_id=watch.node_id),
            note=end_note(instance),
        )

    async def _stop_at_end(self, watch: InstanceWatch) -> bool:
        if not self.stop_at_end or watch.done:
            return False
        self.log.info("Wait over (%s) and no try of the task follows: stopping DataWorks instance %s",
                      self.end_cause, self.instance_id)
        try:
            await (await self._runs(watch)).stop_async(self.instance_id, self.project_env)
        except Exception as exc:  # the event still reports the timeout; the task fails either way
            self.log.warning("Could not stop DataWorks instance %s: %s", self.instance_id, exc)
            return False
        return True

    async def on_kill(self) -> None:
        """Airflow 3.3+: the user killed the deferred task; stop the instance it was waiting for.

        Airflow calls this from the trigger's own task after cancelling it, and its triggerer
        supervisor re-sends that cancel on every sync until the trigger has finished
        (``airflow/jobs/triggerer_job_runner.py``: ``cancelling_triggers``), so a plain ``await``
        of the stop is cancelled before the request is sent, and Airflow swallows that. The stop
        runs in a task of its own, this waits for it through those repeated cancels up to
        ``ON_KILL_STOP_TIMEOUT`` (below Airflow's ``[triggerer] on_kill_timeout``), and a failure
        is logged, not lost.
        """
        if not self.cancel_on_kill:
            return
        self.log.info("Task killed: stopping DataWorks instance %s", self.instance_id)
        stop = asyncio.ensure_future(self._stop_now())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ON_KILL_STOP_TIMEOUT
        cancelled: asyncio.CancelledError | None = None
        while not stop.done() and (left := deadline - loop.time()) > 0:
            try:
                # asyncio.wait cancels ``stop`` neither at its timeout nor when this task is cancelled.
                await asyncio.wait({stop}, timeout=left)
            except asyncio.CancelledError as exc:  # the re-sent cancel of the same user action
                cancelled = exc
        if not stop.done():
            stop.cancel()
            self.log.error("Could not stop DataWorks instance %s: no answer within %s s; stop it in the "
                           "DataWorks console", self.instance_id, ON_KILL_STOP_TIMEOUT)
        else:
            self._log_stop_result(stop)
        if cancelled is not None:
            raise cancelled

    async def _stop_now(self) -> bool:
        watch = InstanceWatch.from_dict(self.watch) if self.watch else InstanceWatch(self.instance_id, self.project_env)
        return await (await self._runs(watch)).stop_async(self.instance_id, self.project_env)

    def _log_stop_result(self, stop: asyncio.Future) -> None:
        try:
            stopped = stop.result()
        except Exception as exc:
            self.log.error("Could not stop DataWorks instance %s: %s; stop it in the DataWorks console",
                           self.instance_id, exc)
            return
        if stopped:
            self.log.info("Asked DataWorks to stop instance %s", self.instance_id)
        else:
            self.log.error("DataWorks did not confirm stopping instance %s; check it in the DataWorks console",
                           self.instance_id)
