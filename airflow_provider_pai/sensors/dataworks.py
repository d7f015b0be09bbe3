"""Wait for a DataWorks instance (a PAI Designer run) to end, streaming its log into the task log.

``DataWorksInstanceWaitMixin`` is the one wait: ``WaitForInstanceSensor`` (poke, reschedule,
deferrable) and ``TriggerDesignerNodeOperator(wait_for_completion=True)`` both use it, so they
poll, stream, summarise and fail identically.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, NoReturn

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_pai.links.dataworks import DataWorksInstanceLink
from airflow_provider_pai.triggers.dataworks import (
    TAIL_LINES,
    TERMINAL_STATUSES,
    DataWorksInstanceTrigger,
    InstanceWatch,
    end_note,
    instance_summary,
)
from airflow_provider_pai.utils.ends import WaitTimeout, next_try_follows, stop_on_kill, wait_end
from airflow_provider_pai.utils.polling import PollSchedule, PollTimeout, expected_duration_from_history, wait_until
from airflow_provider_pai.utils.validation import (
    is_runtime_value,
    refuse_list,
    validate_int_id,
    validate_positive,
    validate_project_env,
)
from airflow_provider_pai.version_compat import get_task_state_store

# task_state_store key (Airflow 3.3+) holding the wait's InstanceWatch between reschedules, so
# the poll schedule and the count of log lines already shown survive the worker going away.
WAIT_STATE_KEY = "dataworks_wait"
# The end of a run should be noticed within max(60 s, 5% of the run): never sleep longer than
# 60 s near the expected end, or poke_interval if the user asked for closer polling.
END_LATENCY = 60.0


class DataWorksInstanceWaitMixin:
    """Follow one DataWorks instance to its end. Needs ``pai_conn_id``, ``cancel_on_kill``, ``log``."""

    _dw_hook = None
    _watch: InstanceWatch | None = None
    _last_log: str | None = None
    _link_url: str = ""
    _project_id: Any = None
    _ti: Any = None
    # What a FAILURE raises; the sensor uses AirflowFailException (a retry cannot change the outcome).
    failure_exception: type[Exception] = AirflowException

    @property
    def dataworks_hook(self):
        if self._dw_hook is None:
            from airflow_provider_pai.hooks.dataworks import DataWorksHook

            self._dw_hook = DataWorksHook(pai_conn_id=self.pai_conn_id)
        return self._dw_hook

    # ---- setup ---------------------------------------------------------------------------------

    def _persist_link(
        self, context: Any, instance_id: int, project_env: str, project_id: Any, quiet: bool = False
    ) -> str:
        if project_id is None:
            return ""
        self._link_url = DataWorksInstanceLink.persist(
            context,
            region_id=self.dataworks_hook.region_id,
            project_id=project_id,
            instance_id=instance_id,
            project_env=project_env,
        )
        if not quiet:
            self.log.info("DataWorks Operation Center (instance %s): %s", instance_id, self._link_url)
        return self._link_url

    def _expected_duration(self, project_id: Any, node_id: Any, project_env: str) -> float | None:
        """Median duration of the node's finished successful runs, to sleep through the expected run."""
        if project_id is None or node_id is None:
            return None
        history = self.dataworks_hook.list_instances(
            project_id=project_id, project_env=project_env, node_id=node_id, status="SUCCESS"
        )
        expected = expected_duration_from_history(history)
        if expected:
            self.log.info("Node %s usually runs %.0f s (%d past runs)", node_id, expected, len(history))
        return expected

    def _start_watch(
        self,
        context: Any,
        instance_id: int,
        project_env: str,
        first_interval: float,
        *,
        project_id: Any = None,
        node_id: Any = None,
    ) -> dict | None:
        """Set ``self._watch`` for this try: restored after a reschedule, else new with the node's history.

        Returns the GetInstance answer when one was needed to find the node (the first poll uses it).
        """
        self._ti = context.get("ti") if context else None  # on_kill decides with it (utils/ends.py)
        store = get_task_state_store(context)
        try_number = getattr(context.get("ti"), "try_number", None) if context else None
        saved = store.get(WAIT_STATE_KEY) if store is not None else None
        if saved and saved.get("instance_id") == instance_id and saved.get("try_number") == try_number:
            self._watch = InstanceWatch.from_dict(saved)
            self._persist_link(context, instance_id, project_env, saved.get("project_id"), quiet=True)
            return None
        instance = None
        hook = self.dataworks_hook
        if node_id is None or project_id is None:
            instance = hook.get_instance(instance_id, project_env=project_env)
            node_id = instance.get("NodeId") if node_id is None else node_id
            if project_id is None and node_id is not None:
                project_id = hook.get_node(node_id, project_env=project_env).get("ProjectId")
        self._project_id = project_id
        if not self._link_url:  # the operator persisted it already, as soon as it knew the instance
            self._persist_link(context, instance_id, project_env, project_id)
        expected = self._expected_duration(project_id, node_id, project_env)
        schedule = PollSchedule(
            first_interval, expected_duration=expected, min_latency=min(END_LATENCY, first_interval)
        )
        self._watch = InstanceWatch(instance_id, project_env, schedule=schedule)
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

    def _poll_instance(self, watch: InstanceWatch, instance: dict | None = None) -> tuple[bool, bool, dict]:
        """GetInstance (unless just fetched), and the log when it is worth a call; (done, changed, instance)."""
        hook = self.dataworks_hook
        if instance is None:
            instance = hook.get_instance(watch.instance_id, project_env=watch.project_env)
        previous = watch.status
        changed = watch.observe(instance)
        if changed:
            self.log.info("DataWorks instance %s: %s -> %s", watch.instance_id, previous, watch.status)
        if watch.wants_log(instance):
            self._last_log = hook.get_instance_log(watch.instance_id, project_env=watch.project_env)
            for line in watch.new_lines(self._last_log):
                self.log.info("[dataworks] %s", line)
        return watch.status in TERMINAL_STATUSES, changed, instance

    def _finish(self, summary: dict, note: str | None, log_tail: list[str]) -> dict:
        """Return the summary of a SUCCESS; raise with the log's last lines and the link otherwise."""
        if note:
            self.log.warning(note)
        iid = summary.get("instance_id")
        if summary.get("status") == "SUCCESS":
            self.log.info(
                "DataWorks instance %s (%s) SUCCESS in %s s", iid, summary.get("node_name"),
                summary.get("duration_seconds"),
            )
            return summary
        lines = "\n".join(f"    {line}" for line in log_tail[-TAIL_LINES:]) or "    (the log is empty)"
        raise self.failure_exception(
            f"DataWorks instance {iid} (node {summary.get('node_name')}) ended {summary.get('status')}."
            + (f" {note}" if note else "")
            + f"\nLast lines of its log:\n{lines}\n"
            + (f"Operation Center: {self._link_url}\n" if self._link_url else "")
            + "Fix the cause in the Designer pipeline or DataWorks, then clear this task to run it again."
        )

    def _finish_instance(self, instance: dict, watch: InstanceWatch) -> dict:
        tail = (self._last_log or "").splitlines()[-TAIL_LINES:]
        return self._finish(instance_summary(instance, watch.project_env), end_note(instance), tail)

    def _wait_blocking(self, watch: InstanceWatch, timeout: float | None) -> dict:
        """The worker-side wait of the operator: the adaptive schedule, one poll at the deadline."""
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

    def _wait_timed_out(self, watch: InstanceWatch, text: str) -> NoReturn:
        """The operator's own wait timeout (docs/timeouts-kills-retries.md): retried unless the last
        try or a hard stop (``retry_on_timeout=False``), which stop the run (``cancel_on_kill``)."""
        link = f" Operation Center: {self._link_url}" if self._link_url else ""
        hard = not getattr(self, "retry_on_timeout", True)
        if not hard and next_try_follows(self._ti):
            raise WaitTimeout(f"{text} It keeps running in DataWorks; the retry reattaches to it.{link}")
        stopped = self._stop_remote(watch, "the wait timed out and no try of this task follows")
        what = "Stopped it." if stopped else "It keeps running in DataWorks (cancel_on_kill=False)."
        raise (AirflowFailException if hard else AirflowException)(f"{text} {what}{link}")

    def _stop_remote(self, watch: InstanceWatch | None, why: str) -> bool:
        """Stop the instance if ``cancel_on_kill`` and it still runs; True when stopped."""
        if not self.cancel_on_kill or watch is None or watch.status in TERMINAL_STATUSES:
            return False
        self.log.info("Stopping DataWorks instance %s: %s.", watch.instance_id, why)
        self.dataworks_hook.stop_instance(watch.instance_id, project_env=watch.project_env)
        return True

    # ---- deferrable ----------------------------------------------------------------------------

    def _defer_wait(self, context: Any, watch: InstanceWatch, timeout: float | None, result: Any = None) -> None:
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

    def execute_complete(self, context: Any, event: dict, result: Any = None, link_url: str = "") -> Any:
        """Back from the trigger: the trigger streamed the log lines; check how the instance ended."""
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
        if status not in ("success", "failure"):
            raise AirflowException(event.get("message") or f"Unexpected trigger event: {event!r}")
        summary = self._finish(event.get("instance") or {}, event.get("note"), event.get("log_tail") or [])
        return summary if result is None else result

    # ---- kill ----------------------------------------------------------------------------------

    def _stop_on_kill(self) -> None:
        """``on_kill``: stop the run only when no try of this task follows (utils/ends.py)."""
        watch = self._watch
        if not self.cancel_on_kill or watch is None or watch.status in TERMINAL_STATUSES:
            return
        if stop_on_kill(getattr(self, "_ti", None), self.log):
            self._stop_remote(watch, "the task was stopped and no try of it follows")


def parse_instance_target(value: Any) -> dict:
    """``instance_id`` as given: an id, or TriggerDesignerNodeOperator's XCom dict (or its str())."""
    refuse_list(value, "instance_id")
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            pass
    if isinstance(value, dict):
        if "instance_id" not in value:
            raise ValueError(
                f"Invalid instance_id={value!r}: a dict must be TriggerDesignerNodeOperator's result "
                "with an 'instance_id' key, e.g. \"{{ ti.xcom_pull(task_ids='train') }}\"."
            )
        return dict(value)
    return {"instance_id": value}


class WaitForInstanceSensor(DataWorksInstanceWaitMixin, BaseSensorOperator):
    """Wait until a DataWorks instance ends; SUCCESS returns its summary, FAILURE fails the task.

    :param instance_id: the instance id, or TriggerDesignerNodeOperator's result dict (its
        ``project_env``, ``project_id`` and ``node_id`` are used too). Templated.
    :param project_env: ``PROD`` or ``DEV``.
    :param project_id: the workspace id, for the console link and the node's run history
        (looked up with GetNode when missing).
    :param poke_interval: first interval of the adaptive poll schedule (seconds).
    :param cancel_on_kill: stop the instance when this task is killed (worker or triggerer).
    :param deferrable: wait in the triggerer (``DataWorksInstanceTrigger``).
    """

    template_fields: Sequence[str] = ("instance_id", "project_env", "project_id")
    operator_extra_links = (DataWorksInstanceLink(),)
    failure_exception = AirflowFailException

    def __init__(
        self,
        *,
        instance_id: Any,
        project_env: str = "PROD",
        project_id: Any = None,
        pai_conn_id: str = "pai_default",
        cancel_on_kill: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.instance_id = instance_id
        self.project_env = project_env
        self.project_id = project_id
        self.pai_conn_id = pai_conn_id
        self.cancel_on_kill = cancel_on_kill
        self.deferrable = deferrable
        # Checked now (DAG parse time) unless templated.
        validate_positive(self.poke_interval, "poke_interval")
        if not is_runtime_value(project_env):
            validate_project_env(project_env, "project_env")
        if not is_runtime_value(instance_id):
            parse_instance_target(instance_id)
        self._last_changed = True
        self._last_instance: dict | None = None
        self._context: Any = None

    def _target(self) -> dict:
        """Validated (instance_id, project_env, project_id, node_id) from the rendered fields."""
        target = parse_instance_target(self.instance_id)
        env = target.get("project_env") or self.project_env
        project_id = target.get("project_id", self.project_id)
        return {
            "instance_id": validate_int_id(target["instance_id"], "instance_id"),
            "project_env": validate_project_env(env, "project_env"),
            "project_id": None if project_id in (None, "") else validate_int_id(project_id, "project_id"),
            "node_id": target.get("node_id"),
        }

    def _ensure_watch(self, context: Any) -> dict | None:
        """Set up the watch on the first poke of this process; returns a GetInstance answer to reuse."""
        if self._watch is not None:
            return None
        validate_positive(self.poke_interval, "poke_interval")
        t = self._target()
        return self._start_watch(
            context, t["instance_id"], t["project_env"], self.poke_interval,
            project_id=t["project_id"], node_id=t["node_id"],
        )

    def execute(self, context: Any) -> Any:
        self._context = context
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout:
                # A sensor timeout is final (Airflow never retries it): stop the watched run.
                self._stop_remote(self._watch, "the sensor timed out (final: sensor timeouts are not retried)")
                raise
        first = self._ensure_watch(context)
        done, _, instance = self._poll_instance(self._watch, first)
        if done:  # already over: no need to defer
            return self._finish_instance(instance, self._watch)
        self._defer_wait(context, self._watch, self.timeout)

    def poke(self, context: Any) -> bool | PokeReturnValue:
        self._context = context
        first = self._ensure_watch(context)
        watch = self._watch
        done, self._last_changed, self._last_instance = self._poll_instance(watch, first)
        if done:
            return PokeReturnValue(is_done=True, xcom_value=self._finish_instance(self._last_instance, watch))
        return False

    def _get_next_poke_interval(self, started_at: Any, run_duration: Any, poke_count: int) -> float:
        """The adaptive schedule instead of a fixed poke_interval; bounded by what is left of timeout."""
        watch = self._watch
        interval = watch.schedule.next_interval(watch.elapsed(self._last_instance), self._last_changed)
        interval = max(min(interval, self.timeout - run_duration()), 1.0)
        if self.reschedule:
            self._save_watch(self._context)  # the next poke runs in a new process
        self.log.debug("Next check of DataWorks instance %s in %.0f s", watch.instance_id, interval)
        return interval

    def on_kill(self) -> None:
        self._stop_on_kill()
