"""Wait for a DataWorks instance (a PAI Designer run) to end, streaming its log into the task log.

The wait itself is ``mixins.dataworks.DataWorksInstanceWaitMixin``, shared with
``TriggerDesignerNodeOperator(wait_for_completion=True)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSensorTimeout, PokeReturnValue

from airflow_provider_pai.links.dataworks import DataWorksInstanceLink
from airflow_provider_pai.mixins.dataworks import (  # noqa: F401  (re-exported: earlier home of these names)
    END_LATENCY,
    WAIT_STATE_KEY,
    DataWorksInstanceWaitMixin,
)
from airflow_provider_pai.mixins.hook import DATAWORKS_HOOK
from airflow_provider_pai.sensors.base import PaiBaseSensorOperator, pai_template_fields
from airflow_provider_pai.utils.dataworks_runs import (
    parse_instance_target,
    rendered_log_interval,
    validate_log_interval,
)
from airflow_provider_pai.utils.validation import (
    is_runtime_value,
    validate_int_id,
    validate_positive,
    validate_project_env,
)

if TYPE_CHECKING:
    from airflow_provider_pai.hooks.dataworks import DataWorksHook


class WaitForInstanceSensor(DataWorksInstanceWaitMixin, PaiBaseSensorOperator["DataWorksHook"]):
    """Wait until a DataWorks instance ends; SUCCESS returns its summary, FAILURE fails the task.

    :param instance_id: the instance id, or TriggerDesignerNodeOperator's result dict (its
        ``project_env``, ``project_id``, ``node_id``, ``bizdate`` and ``api_version`` are used too).
        Templated. Given only an id, the DataWorks OpenAPI is the connection's
        ``dataworks_api_version`` (``auto``: found by probing the id).
    :param project_env: ``PROD`` or ``DEV``. Templated.
    :param project_id: the workspace id, for the console link and the node's run history
        (looked up with GetNode when missing). Templated.
    :param poke_interval: first interval of the adaptive poll schedule (seconds).
    :param cancel_on_kill: stop the instance when the wait ends for good: the sensor ``timeout``
        (never retried), a last try's ``execution_timeout``, a user stopping the task; see
        docs/timeouts-kills-retries.md.
    :param stream_log: copy the DataWorks log into the task log while the instance runs (lines at
        most max(60 s, two polls) late). ``False`` fetches it once, at the end: fewer DataWorks calls
        (docs/operators/dataworks.md, "Log streaming and the call budget").
    :param log_interval: a tighter log cadence (seconds, >= 5) while the instance runs: poll and read
        the log at least that often, so lines are at most ``log_interval`` late. Costs up to
        60 / ``log_interval`` GetInstance calls a minute until the end, plus as many log calls while
        it runs (12 calls a minute at 10 s). Default None: max(60 s, two polls). Templated
        (``"{{ params.log_interval }}"``: a DAG param lets each run choose; checked once rendered).

    ``pai_conn_id``, ``region_id`` and ``deferrable`` (wait in the triggerer with
    ``DataWorksInstanceTrigger``): see ``PaiBaseSensorOperator``.
    """

    hook_class_path = DATAWORKS_HOOK
    template_fields: Sequence[str] = pai_template_fields("instance_id", "project_env", "project_id", "log_interval")
    operator_extra_links = (DataWorksInstanceLink(),)
    failure_exception = AirflowFailException

    def __init__(
        self,
        *,
        instance_id: Any,
        project_env: str = "PROD",
        project_id: Any = None,
        cancel_on_kill: bool = True,
        stream_log: bool = True,
        log_interval: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        validate_positive(self.poke_interval, "poke_interval")
        # A template is checked once rendered (_ensure_watch); a value now (DAG parse time).
        self.log_interval = log_interval if is_runtime_value(log_interval) else validate_log_interval(log_interval)
        self.instance_id = instance_id
        self.project_env = project_env
        self.project_id = project_id
        self.cancel_on_kill = cancel_on_kill
        self.stream_log = stream_log
        # Templated values known now are checked now (DAG parse time), the rest once rendered.
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
            "bizdate": target.get("bizdate"),
            "api_version": target.get("api_version"),
        }

    def _ensure_watch(self, context: Any) -> dict | None:
        """Set up the watch on the first poke of this process; returns a GetInstance answer to reuse."""
        if self._watch is not None:
            return None
        t = self._target()
        self.log_interval = rendered_log_interval(self.log_interval)
        if t["api_version"]:  # from the operator's XCom: no need to probe which API again
            self._runs = self.hook.runs(t["api_version"], project_id=t["project_id"], instance_id=t["instance_id"],
                                        project_env=t["project_env"])
        return self._start_watch(
            context, t["instance_id"], t["project_env"], self.poke_interval,
            project_id=t["project_id"], node_id=t["node_id"], bizdate=t["bizdate"],
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
        watch = self._watch
        if TYPE_CHECKING:
            assert watch is not None  # _ensure_watch set it up
        done, _, instance = self._poll_instance(watch, first)
        if done:  # already over: no need to defer
            return self._finish_instance(instance, watch)
        self._defer_wait(context, watch, self.timeout)

    def poke(self, context: Any) -> bool | PokeReturnValue:
        self._context = context
        first = self._ensure_watch(context)
        watch = self._watch
        if TYPE_CHECKING:
            assert watch is not None  # _ensure_watch set it up
        done, self._last_changed, self._last_instance = self._poll_instance(watch, first)
        if done:
            return PokeReturnValue(is_done=True, xcom_value=self._finish_instance(self._last_instance, watch))
        return False

    def _get_next_poke_interval(self, started_at: Any, run_duration: Any, poke_count: int) -> float:
        """The adaptive schedule instead of a fixed poke_interval; bounded by what is left of timeout."""
        watch = self._watch
        if TYPE_CHECKING:
            assert watch is not None  # poke, which runs first, set it up
        interval = watch.schedule.next_interval(watch.elapsed(self._last_instance), self._last_changed)
        interval = max(min(interval, self.timeout - run_duration()), 1.0)
        if self.reschedule:
            self._save_watch(self._context)  # the next poke runs in a new process
        self.log.debug("Next check of DataWorks instance %s in %.0f s", watch.instance_id, interval)
        return interval

    def on_kill(self) -> None:
        self._stop_on_kill()
