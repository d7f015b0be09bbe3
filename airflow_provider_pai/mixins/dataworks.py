"""The one wait on a DataWorks instance, shared by ``WaitForInstanceSensor`` and
``TriggerDesignerNodeOperator(wait_for_completion=True)``: they poll, stream the log, summarise
and fail identically. What a poll decides is ``utils.dataworks.after_get_instance``, the same
step ``DataWorksInstanceTrigger`` takes in the triggerer.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_pai.links.dataworks import DataWorksInstanceLink
from airflow_provider_pai.version_compat import get_task_state_store

if TYPE_CHECKING:
    from airflow.sdk.types import Logger

    from airflow_provider_pai.hooks.dataworks import DataWorksHook
    from airflow_provider_pai.hooks.dataworks_runs import DataWorksRuns
    from airflow_provider_pai.utils.dataworks import InstanceWatch

# task_state_store key (Airflow 3.3+) holding the wait's InstanceWatch between reschedules, so
# the poll schedule and the count of log lines already shown survive the worker going away.
WAIT_STATE_KEY = "dataworks_wait"
# The end of a run should be noticed within max(60 s, 5% of the run): never sleep longer than
# 60 s near the expected end, or poke_interval if the user asked for closer polling.
END_LATENCY = 60.0


class DataWorksWaitHost(Protocol):
    """What ``DataWorksInstanceWaitMixin`` needs from the operator or sensor it is mixed into."""

    pai_conn_id: str
    region_id: str | None
    cancel_on_kill: bool
    stream_log: bool

    @property
    def hook(self) -> DataWorksHook: ...

    @property
    def log(self) -> Logger: ...

    def defer(self, *, trigger: Any, method_name: str, kwargs: dict | None = None,
              timeout: timedelta | None = None) -> NoReturn: ...

    # The mixin's own state and steps, so its methods can be typed against this protocol.
    _watch: InstanceWatch | None
    _last_log: str | None
    _link_url: str
    _project_id: Any
    _runs: DataWorksRuns | None
    _ti: Any

    @property  # read-only here: the sensor narrows it to AirflowFailException
    def failure_exception(self) -> type[Exception]: ...

    def _persist_link(self, context: Any, instance_id: int, project_env: str, project_id: Any,
                      quiet: bool = False) -> str: ...

    def _expected_duration(self, project_id: Any, node_id: Any, project_env: str, bizdate: Any = None) -> float | None: ...

    def _runs_of(self, watch: InstanceWatch) -> DataWorksRuns: ...

    def _poll_instance(self, watch: InstanceWatch, instance: dict | None = None) -> tuple[bool, bool, dict]: ...

    def _finish(self, summary: dict, note: str | None, tail: list[str]) -> dict: ...

    def _finish_instance(self, instance: dict, watch: InstanceWatch) -> dict: ...

    def _wait_timed_out(self, watch: InstanceWatch, text: str) -> NoReturn: ...

    def _stop_remote(self, watch: InstanceWatch | None, why: str) -> bool: ...

    def _failure_log_tail(self, summary: dict, api_version: str | None = None) -> list[str]: ...


class DataWorksInstanceWaitMixin:
    """Follow one DataWorks instance to its end; the host provides ``DataWorksWaitHost``."""

    _watch: InstanceWatch | None = None
    _last_log: str | None = None
    _link_url: str = ""
    _project_id: Any = None
    # The hook's run object of the DataWorks OpenAPI the run is on, once known (``hook.runs``).
    _runs: DataWorksRuns | None = None
    _ti: Any = None
    # What a FAILURE raises; the sensor uses AirflowFailException (a retry cannot change the outcome).
    failure_exception: type[Exception] = AirflowException

    # ---- setup ---------------------------------------------------------------------------------

    def _persist_link(
        self: DataWorksWaitHost, context: Any, instance_id: int, project_env: str, project_id: Any, quiet: bool = False
    ) -> str:
        if project_id is None:
            return ""
        self._link_url = DataWorksInstanceLink.persist(
            context,
            region_id=self.hook.region_id,
            project_id=project_id,
            instance_id=instance_id,
            project_env=project_env,
            new_console=bool(self._runs and self._runs.new_console),
        )
        if not quiet:
            self.log.info("DataWorks Operation Center (instance %s): %s", instance_id, self._link_url)
        return self._link_url

    def _expected_duration(
        self: DataWorksWaitHost, project_id: Any, node_id: Any, project_env: str, bizdate: Any = None
    ) -> float | None:
        """Median duration of the node's finished successful runs, to sleep through the expected run."""
        from airflow_provider_pai.utils.dataworks import expected_duration_from_history

        if project_id is None or node_id is None:
            return None
        runs = self._runs or self.hook.runs(project_id=project_id, node_id=node_id, project_env=project_env)
        history = runs.successful_runs(project_id=project_id, node_id=node_id, bizdate=bizdate, project_env=project_env)
        expected = expected_duration_from_history(history)
        if expected:
            self.log.info("Node %s usually runs %.0f s (%d past runs)", node_id, expected, len(history))
        return expected

    def _start_watch(
        self: DataWorksWaitHost,
        context: Any,
        instance_id: int,
        project_env: str,
        first_interval: float,
        *,
        project_id: Any = None,
        node_id: Any = None,
        bizdate: Any = None,
    ) -> dict | None:
        """Set ``self._watch`` for this try: restored after a reschedule, else new with the node's history.

        Returns the GetInstance answer when one was needed to find the node (the first poll uses it).
        """
        from airflow_provider_pai.utils.dataworks import InstanceWatch
        from airflow_provider_pai.utils.polling import PollSchedule

        self._ti = context.get("ti") if context else None  # on_kill decides with it (utils/ends.py)
        store = get_task_state_store(context)
        try_number = getattr(context.get("ti"), "try_number", None) if context else None
        saved = store.get(WAIT_STATE_KEY) if store is not None else None
        hook = self.hook
        if saved and saved.get("instance_id") == instance_id and saved.get("try_number") == try_number:
            self._watch = InstanceWatch.from_dict(saved)
            self._runs = self._runs or hook.runs(self._watch.api_version, instance_id=instance_id,
                                                 project_env=project_env)
            self._persist_link(context, instance_id, project_env, saved.get("project_id"), quiet=True)
            return None
        instance = None
        known_node = node_id  # the node id the user named (XCom ``node_id``), not a scheduled task id
        if node_id is None or project_id is None:
            # by the instance: the operator's choice (from XCom), else the instance decides (probes)
            self._runs = self._runs or hook.runs(instance_id=instance_id, project_env=project_env)
            instance = self._runs.get_instance(instance_id, project_env)
            node_id = instance.get("NodeId") if node_id is None else node_id
            bizdate = instance.get("Bizdate") if bizdate is None else bizdate
            if project_id is None:
                project_id = instance.get("ProjectId")  # 2024-05-18 task instances name their workspace
            if project_id is None and node_id is not None:
                project_id = self._runs.describe_node(node_id, project_env=project_env).get("ProjectId")
        if self._runs is None:
            self._runs = hook.runs(project_id=project_id, node_id=node_id, project_env=project_env)
        self._project_id = project_id
        if not self._link_url:  # the operator persisted it already, as soon as it knew the instance
            self._persist_link(context, instance_id, project_env, project_id)
        expected = self._expected_duration(project_id, node_id, project_env, bizdate)
        schedule = PollSchedule(
            first_interval, expected_duration=expected, min_latency=min(END_LATENCY, first_interval)
        )
        self._watch = InstanceWatch(instance_id, project_env, schedule=schedule, api_version=self._runs.version,
                                    stream_log=self.stream_log, node_id=known_node,
                                    log_interval=getattr(self, "log_interval", None))
        return instance

    def _save_watch(self, context: Any) -> None:
        store = get_task_state_store(context)
        if store is not None and self._watch is not None:
            try_number = getattr(context.get("ti"), "try_number", None)
            store.set(
                WAIT_STATE_KEY,
                {**self._watch.to_dict(), "try_number": try_number, "project_id": self._project_id},
            )

    # ---- one poll, the end ---------------------------------------------------------------------

    def _poll_instance(self: DataWorksWaitHost, watch: InstanceWatch, instance: dict | None = None) -> tuple[bool, bool, dict]:
        """GetInstance (unless just fetched), and the log when it is worth a call; (done, changed, instance)."""
        from airflow_provider_pai.utils.dataworks import (
            after_get_instance,
            log_lines_to_show,
            transition_text,
            waiting_text,
        )

        runs = self._runs_of(watch)
        if instance is None:
            instance = runs.get_instance(watch.instance_id, watch.project_env)
        step = after_get_instance(watch, instance)
        if step.changed:
            self.log.info("%s", transition_text(watch.instance_id, step, watch.status))
        if step.fetch_log:
            self._last_log = runs.get_log(watch.instance_id, watch.project_env)
            for line in log_lines_to_show(watch, self._last_log):
                self.log.info("%s", line)
        waiting = waiting_text(watch, step, instance)
        if waiting:
            self.log.info("%s", waiting)
        return step.done, step.changed, instance

    def _runs_of(self: DataWorksWaitHost, watch: InstanceWatch) -> DataWorksRuns:
        """The run object of the watch's API (the choice made when the wait began)."""
        if self._runs is None or self._runs.version != watch.api_version:
            self._runs = self.hook.runs(watch.api_version, instance_id=watch.instance_id,
                                        project_env=watch.project_env)
        return self._runs

    def _finish(self: DataWorksWaitHost, summary: dict, note: str | None, tail: list[str]) -> dict:
        """Return the summary of a SUCCESS; raise with the log's last lines and the link otherwise."""
        from airflow_provider_pai.utils.dataworks import DataWorksInstanceStatus, failure_text

        if note:
            self.log.warning(note)
        if DataWorksInstanceStatus.is_success(summary.get("status")):
            self.log.info(
                "DataWorks instance %s (%s) SUCCESS in %s s", summary.get("instance_id"), summary.get("node_name"),
                summary.get("duration_seconds"),
            )
            return summary
        raise self.failure_exception(failure_text(summary, note, tail, self._link_url))

    def _finish_instance(self: DataWorksWaitHost, instance: dict, watch: InstanceWatch) -> dict:
        from airflow_provider_pai.utils.dataworks import end_note, instance_summary, log_tail

        summary = instance_summary(instance, watch.project_env, node_id=watch.node_id)
        return self._finish(summary, end_note(instance), log_tail(self._last_log))

    def _wait_blocking(self: DataWorksWaitHost, watch: InstanceWatch, timeout: float | None) -> dict:
        """The worker-side wait of the operator: the adaptive schedule, one poll at the deadline."""
        from airflow_provider_pai.utils.polling import PollTimeout, wait_until

        try:
            instance = wait_until(
                lambda: self._poll_instance(watch), watch.schedule, timeout=timeout, elapsed_fn=watch.elapsed
            )
        except PollTimeout as exc:
            self._wait_timed_out(
                watch, f"DataWorks instance {watch.instance_id} is still {watch.status} after waiting "
                f"{exc.waited:.0f} s (timeout={timeout})."
            )
        return self._finish_instance(instance, watch)

    def _wait_timed_out(self: DataWorksWaitHost, watch: InstanceWatch, text: str) -> NoReturn:
        """The operator's own wait timeout (docs/timeouts-kills-retries.md): retried unless the last
        try or a hard stop (``retry_on_timeout=False``), which stop the run (``cancel_on_kill``)."""
        from airflow_provider_pai.utils.ends import WaitTimeout, next_try_follows

        link = f" Operation Center: {self._link_url}" if self._link_url else ""
        hard = not getattr(self, "retry_on_timeout", True)
        if not hard and next_try_follows(self._ti):
            raise WaitTimeout(f"{text} It keeps running in DataWorks; the retry reattaches to it.{link}")
        stopped = self._stop_remote(watch, "the wait timed out and no try of this task follows")
        what = "Stopped it." if stopped else "It keeps running in DataWorks (cancel_on_kill=False)."
        raise (AirflowFailException if hard else AirflowException)(f"{text} {what}{link}")

    def _stop_remote(self: DataWorksWaitHost, watch: InstanceWatch | None, why: str) -> bool:
        """Stop the instance if ``cancel_on_kill`` and it still runs; True when stopped."""
        if not self.cancel_on_kill or watch is None or watch.done:
            return False
        self.log.info("Stopping DataWorks instance %s: %s.", watch.instance_id, why)
        self._runs_of(watch).stop(watch.instance_id, watch.project_env)
        return True

    # ---- deferrable ----------------------------------------------------------------------------

    def _defer_wait(
        self: DataWorksWaitHost, context: Any, watch: InstanceWatch, timeout: float | None, result: Any = None
    ) -> None:
        from airflow.providers.common.compat.sdk import BaseSensorOperator

        from airflow_provider_pai.triggers.dataworks import DataWorksInstanceTrigger  # the deferred path only
        from airflow_provider_pai.utils.ends import next_try_follows, wait_end

        # The trigger ends the wait at the earlier of timeout and execution_timeout (Airflow 3.3 does
        # not apply execution_timeout to a deferred task) and stops the run there if no try follows.
        end_time, cause = wait_end(context, timeout)
        sensor = isinstance(self, BaseSensorOperator)
        final = not next_try_follows(self._ti) or (
            cause == "timeout" and (sensor or not getattr(self, "retry_on_timeout", True))
        )
        self.defer(
            trigger=DataWorksInstanceTrigger(
                watch.instance_id,
                watch.project_env,
                self.pai_conn_id,
                region_id=self.region_id,
                watch=watch.to_dict(),
                end_time=end_time,
                cancel_on_kill=self.cancel_on_kill,
                stop_at_end=final and self.cancel_on_kill,
                end_cause=cause,
            ),
            method_name="execute_complete",
            # Only a backstop (a triggerer gone for good): the trigger ends the wait itself.
            timeout=None if end_time is None else timedelta(seconds=max(end_time - time.time(), 0) + 60),
            kwargs={"result": result, "link_url": self._link_url},
        )

    def execute_complete(self: DataWorksWaitHost, context: Any, event: dict, result: Any = None, link_url: str = "") -> Any:
        """Back from the trigger: the trigger streamed the log lines; check how the instance ended."""
        from airflow.providers.common.compat.sdk import BaseSensorOperator

        from airflow_provider_pai.utils.dataworks import DataWorksInstanceStatus
        from airflow_provider_pai.utils.ends import WaitTimeout

        self._link_url = link_url or self._link_url
        status = (event or {}).get("status")
        if status == "timeout":
            link = f" Operation Center: {self._link_url}" if self._link_url else ""
            if event.get("stopped"):
                text = f"{event.get('message')} No try of this task follows: stopped it.{link}"
            else:
                text = f"{event.get('message')} It keeps running in DataWorks.{link}"
            if event.get("cause") == "execution_timeout":
                raise WaitTimeout(f"execution_timeout: {text}")
            if isinstance(self, BaseSensorOperator):
                raise AirflowSensorTimeout(text)
            if not getattr(self, "retry_on_timeout", True):
                raise AirflowFailException(text)
            raise WaitTimeout(text)
        # "failure": what a trigger of version <= 0.x (before the shared vocabulary) sent.
        if status not in ("success", "failed", "failure"):
            raise AirflowException(event.get("message") or f"Unexpected trigger event: {event!r}")
        summary = event.get("instance") or {}
        tail = event.get("log_tail")  # sent by triggers before 0.2; now the event stays small
        if tail is None and not DataWorksInstanceStatus.is_success(summary.get("status")):
            tail = self._failure_log_tail(summary, event.get("api_version"))  # the watch's, sent back
        summary = self._finish(summary, event.get("note"), tail or [])
        return summary if result is None else result

    def _failure_log_tail(self: DataWorksWaitHost, summary: dict, api_version: str | None = None) -> list[str]:
        """The last lines for the failure message (the trigger streamed them into this log already;
        one GetInstanceLog here, only when the instance failed)."""
        from airflow_provider_pai.utils.dataworks import log_tail

        try:
            runs = self.hook.runs(api_version, instance_id=summary["instance_id"],
                                  project_env=summary.get("project_env", "PROD"))
            return log_tail(runs.get_log(summary["instance_id"], summary.get("project_env", "PROD")))
        except Exception as exc:  # the failure is what matters; say why the tail is missing
            return [f"(the instance log could not be read: {exc})"]

    # ---- kill ----------------------------------------------------------------------------------

    def _stop_on_kill(self: DataWorksWaitHost) -> None:
        """``on_kill``: stop the run only when no try of this task follows (utils/ends.py)."""
        from airflow_provider_pai.utils.ends import stop_on_kill

        watch = self._watch
        if not self.cancel_on_kill or watch is None or watch.done:
            return
        if stop_on_kill(getattr(self, "_ti", None), self.log):
            self._stop_remote(watch, "the task was stopped and no try of it follows")
