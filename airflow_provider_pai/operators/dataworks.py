"""Run a PAI Designer node scheduled in DataWorks, once per Airflow task, and (optionally) wait for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.links.dataworks import DataWorksInstanceLink
from airflow_provider_pai.mixins.dataworks import DataWorksInstanceWaitMixin
from airflow_provider_pai.mixins.hook import DATAWORKS_HOOK
from airflow_provider_pai.operators.base import PaiBaseOperator, pai_template_fields
from airflow_provider_pai.utils.dataworks_runs import (  # noqa: F401  (run_name, validate_node_params: re-exported)
    rendered_log_interval,
    run_name,
    validate_log_interval,
    validate_node_params,
)
from airflow_provider_pai.utils.validation import (
    PaiParameterError,
    is_runtime_value,
    validate_bizdate,
    validate_int_id,
    validate_positive,
    validate_project_env,
    validate_run_mode,
)
from airflow_provider_pai.version_compat import get_task_state_store

if TYPE_CHECKING:
    from airflow_provider_pai.hooks.dataworks import DataWorksHook

# task_state_store key (Airflow 3.3+): {"name", "dag_id", "instance_id", "api_version",
# "operation_id"} of the run this task started, written right after submitting, so a retry
# reattaches instead of starting another (2024-05-18: even before the run's creation finished).
RUN_STATE_KEY = "dataworks_run"
# DataWorks lists a DAG's instances a little after the run call returns.
INSTANCE_APPEAR_TIMEOUT = 300.0


class TriggerDesignerNodeOperator(DataWorksInstanceWaitMixin, PaiBaseOperator["DataWorksHook"]):
    """Start a run of a PAI Designer node in DataWorks and return its ids to XCom.

    Returns ``{project_id, project_env, node_id, dag_id, instance_id, bizdate, api_version}`` (plus
    ``task_id`` and ``workflow_instance_id`` on DataWorks OpenAPI 2024-05-18, where ``dag_id`` is the
    workflow instance and ``instance_id`` the task instance). A retry, or a
    second run of the same Airflow task, reattaches to the DataWorks run it already started (found
    by its run name, see ``run_name``) instead of starting another, billable one; only a run that
    ended FAILURE is started afresh.

    :param project_id: DataWorks workspace id. Templated.
    :param node_id: the PAI Designer node (program type PAI_STUDIO, file type 1117). Templated
        (kept as the attribute ``dataworks_node_id``: ``BaseOperator.node_id`` is the task's graph id).
    :param bizdate: business date ``YYYY-MM-DD`` or ``YYYYMMDD``. Templated, default ``{{ ds }}``.
    :param project_env: ``PROD`` or ``DEV``.
    :param node_params: ``{name: value}`` scheduling parameters for the node. Templated.
    :param run_mode: ``backfill`` (RunCycleDagNodes, for auto-triggered nodes) or ``manual``
        (RunManualDagNodes, needs ``project_name`` and ``flow_name``; on 2024-05-18 the node's task runs
        in its own manually triggered workflow, and neither is needed).
    :param project_name: the workspace name (``run_mode='manual'`` on 2020-05-18). Templated.
    :param flow_name: the manually triggered workflow (``run_mode='manual'`` on 2020-05-18). Templated.
    :param wait_for_completion: wait until the instance ends, as WaitForInstanceSensor does.
    :param poll_interval: first interval (seconds) of the adaptive poll schedule.
    :param timeout: seconds to wait for completion; then the task fails like any failure: retried
        while retries are left (the retry reattaches, the instance keeps running).
    :param cancel_on_kill: stop the instance when the wait ends for good (no try follows: the last
        try timed out, a hard stop, a user stopped the task); see docs/timeouts-kills-retries.md.
    :param retry_on_timeout: ``False`` makes the wait ``timeout`` a hard stop: fail at once without
        the retries left, and stop the instance (``cancel_on_kill``).
    :param check_node_type: refuse nodes that are not PAI Designer nodes.
    :param stream_log: copy the DataWorks log into the task log while the instance runs (lines at
        most max(60 s, two polls) late). ``False`` fetches it once, at the end: fewer DataWorks calls
        (docs/operators/dataworks.md, "Log streaming and the call budget").
    :param log_interval: a tighter log cadence (seconds, >= 5) while the instance runs: poll and read
        the log at least that often, so lines are at most ``log_interval`` late. Costs up to
        60 / ``log_interval`` GetInstance calls a minute until the end, plus as many log calls while
        it runs (12 calls a minute at 10 s). Default None: max(60 s, two polls). Templated
        (``"{{ params.log_interval }}"``: checked once rendered).
    :param lineage_outputs: ``oss://`` URIs the node writes (e.g. its Model Export path), reported
        as the run's OpenLineage outputs (docs/lineage.md); DataWorks does not say. Templated.

    ``pai_conn_id``, ``region_id`` and ``deferrable`` (wait in the triggerer with
    ``DataWorksInstanceTrigger``): see ``PaiBaseOperator``.
    """

    hook_class_path = DATAWORKS_HOOK
    template_fields: Sequence[str] = pai_template_fields(
        "project_id", "dataworks_node_id", "bizdate", "node_params", "project_name", "flow_name", "project_env",
        "lineage_outputs", "log_interval",
    )
    template_fields_renderers = {"node_params": "json"}
    operator_extra_links = (DataWorksInstanceLink(),)
    ui_color = "#ffe8cc"

    def __init__(
        self,
        *,
        project_id: Any,
        node_id: Any,
        bizdate: Any = "{{ ds }}",
        project_env: str = "PROD",
        node_params: dict | None = None,
        run_mode: str = "backfill",
        project_name: str | None = None,
        flow_name: str | None = None,
        wait_for_completion: bool = False,
        poll_interval: float = 60,
        timeout: float | None = 7 * 24 * 3600,
        cancel_on_kill: bool = True,
        check_node_type: bool = True,
        lineage_outputs: list[str] | str | None = None,
        retry_on_timeout: bool = True,
        stream_log: bool = True,
        log_interval: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.log_interval = log_interval if is_runtime_value(log_interval) else validate_log_interval(log_interval)
        self.lineage_outputs = lineage_outputs
        self.project_id = project_id
        # ``node_id`` is taken: BaseOperator.node_id is the task's id in the DAG graph.
        self.dataworks_node_id = node_id
        self.bizdate = bizdate
        self.project_env = project_env
        self.node_params = node_params
        self.project_name = project_name
        self.flow_name = flow_name
        self.wait_for_completion = wait_for_completion
        # Not templated: checked here, at DAG parse time.
        self.run_mode = validate_run_mode(run_mode, "run_mode")
        self.poll_interval = validate_positive(poll_interval, "poll_interval")
        self.timeout = None if timeout is None else validate_positive(timeout, "timeout")
        self.cancel_on_kill = cancel_on_kill
        self.check_node_type = check_node_type
        self.retry_on_timeout = retry_on_timeout
        self.stream_log = stream_log
        # Templated values known now are checked now too; the rest once rendered (``_validated``).
        for name, check in (("project_id", validate_int_id), ("node_id", validate_int_id),
                            ("bizdate", validate_bizdate), ("project_env", validate_project_env)):
            value = getattr(self, "dataworks_node_id" if name == "node_id" else name)
            if not is_runtime_value(value):
                check(value, name)
        if not is_runtime_value(node_params):
            validate_node_params(node_params)

    def get_openlineage_facets_on_complete(self, task_instance):
        """The DataWorks instance as the external run, ``lineage_outputs`` as outputs (docs/lineage.md)."""
        from airflow_provider_pai.utils.openlineage import dataworks_run

        return dataworks_run(getattr(self, "_lineage_result", None) or {}, self.lineage_outputs)

    # ---- checks before any remote call ----------------------------------------------------------

    def _validated(self) -> dict:
        """The rendered (templated) parameters, checked before any remote call."""
        params = {
            "project_id": validate_int_id(self.project_id, "project_id"),
            "node_id": validate_int_id(self.dataworks_node_id, "node_id"),
            "bizdate": validate_bizdate(self.bizdate, "bizdate"),
            "project_env": validate_project_env(self.project_env, "project_env"),
            "node_params": validate_node_params(self.node_params),
            "run_mode": self.run_mode,
        }
        return params

    def _check_manual_names(self, p: dict, runs: Any) -> None:
        """2020-05-18 names the manually triggered workflow by project and flow name; 2024-05-18 takes
        the task's own workflow (GetTask ``WorkflowId``), so there they are not needed."""
        if p["run_mode"] != "manual" or runs.new_console:
            return
        for name in ("project_name", "flow_name"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise PaiParameterError(
                    f"Invalid {name}={value!r}: run_mode='manual' on DataWorks OpenAPI 2020-05-18 runs the node "
                    f"inside a manually triggered workflow and needs its {name.replace('_', ' ')} (a non-empty "
                    "string)."
                )

    def _check_designer_node(self, p: dict) -> None:
        """Refuse a node of another engine; run an unknown or non-Designer PAI type with a warning (F-DW-6)."""
        from airflow_provider_pai.utils.dataworks_nodes import designer_check

        # GetNode (2020-05-18), or the node's FlowSpec / GetTask type (2024-05-18, F-DW24-9)
        node = self.hook.describe_node(p["node_id"], project_id=p["project_id"], project_env=p["project_env"])
        warning, refusal = designer_check(node, p["node_id"])
        if refusal:
            raise AirflowException(refusal)
        if warning:
            self.log.warning("%s", warning)

    # ---- finding the run this task already started ------------------------------------------------

    def _find_by_name(self, p: dict, name: str) -> dict | None:
        """The newest backfill run named ``name`` of the node for this bizdate (either API)."""
        return self.hook.find_run_by_name(
            project_id=p["project_id"], node_id=p["node_id"], bizdate=p["bizdate"], name=name,
            project_env=p["project_env"],
        )

    def _find_existing(self, p: dict, name: str, store: Any) -> dict | None:
        """This task's earlier run, unless it failed: from task_state_store, else by run name."""
        from airflow_provider_pai.utils.dataworks import DataWorksInstanceStatus

        hook = self.hook
        if TYPE_CHECKING:
            assert self._runs is not None  # execute chose the run object first
        found = None
        saved = store.get(RUN_STATE_KEY) if store is not None else None
        if saved and saved.get("name") == name and (saved.get("dag_id") or saved.get("operation_id")):
            found = dict(saved)  # the run record start_run returned, with the version it runs on
            runs = hook.runs(found.get("api_version") or self._runs.version)
            if found.get("instance_id"):
                found["status"] = runs.get_instance(found["instance_id"], p["project_env"]).get("Status")
        elif p["run_mode"] == "backfill":
            found = self._find_by_name(p, name)
        if found and DataWorksInstanceStatus.is_failure(found.get("status")):
            self.log.warning(
                "The DataWorks run this task started before (DAG %s, instance %s) ended FAILURE: "
                "starting a new run.", found["dag_id"], found.get("instance_id"),
            )
            return None
        return found

    # ---- starting ---------------------------------------------------------------------------------

    def _submit(self, p: dict, name: str) -> dict:
        """Start the run: ``{"api_version", "dag_id", "operation_id"}`` (``DataWorksHook.start_run``).

        A call the retry policy would repeat is repeated only after looking the run up by name.
        """
        return self.hook.start_run(
            project_id=p["project_id"], node_id=p["node_id"], bizdate=p["bizdate"], name=name,
            project_env=p["project_env"], node_params=p["node_params"], run_mode=p["run_mode"],
            project_name=self.project_name, flow_name=self.flow_name,
        )

    def _resolve_instance(self, p: dict, run: dict) -> dict:
        """Wait (on the one poll schedule) until the run's instance of our node is listed."""

        from airflow_provider_pai.utils.polling import PollSchedule, PollTimeout, wait_until

        def poll():
            found = self.hook.find_run_instance(
                run, project_id=p["project_id"], node_id=p["node_id"], bizdate=p["bizdate"],
                project_env=p["project_env"])
            return found is not None, False, found

        try:
            return wait_until(poll, PollSchedule(1.0), timeout=INSTANCE_APPEAR_TIMEOUT)
        except PollTimeout:
            what = f"DAG {run['dag_id']}" if run.get("dag_id") else f"creation {run.get('operation_id')}"
            raise AirflowException(
                f"DataWorks run {what} was started but listed no instance within "
                f"{INSTANCE_APPEAR_TIMEOUT:.0f} s; a retry of this task reattaches to it."
            ) from None

    def execute(self, context: Any) -> dict:
        p = self._validated()
        self.log_interval = rendered_log_interval(self.log_interval)
        # The run object of the DataWorks OpenAPI the workspace needs (the connection's dataworks_api_version).
        self._runs = self.hook.runs(project_id=p["project_id"], node_id=p["node_id"], project_env=p["project_env"])
        self._check_manual_names(p, self._runs)
        if self.check_node_type:
            self._check_designer_node(p)
        ti = context["ti"]
        name = run_name(ti.dag_id, ti.run_id, ti.task_id, getattr(ti, "map_index", None))
        store = get_task_state_store(context)

        found = self._find_existing(p, name, store)
        if found:
            run = {"api_version": found.get("api_version") or self._runs.version, "dag_id": found.get("dag_id"),
                   "operation_id": found.get("operation_id")}
            instance_id = found.get("instance_id")
            self.log.info("Reattaching to the DataWorks run %r this task already started (DAG %s)", name,
                          run["dag_id"] or run["operation_id"])
        else:
            run, instance_id = self._submit(p, name), None
            self.log.info("Started DataWorks run %r of node %s for %s: DAG %s", name, p["node_id"], p["bizdate"],
                          run["dag_id"] or f"being created (operation {run['operation_id']})")
            if store is not None:
                store.set(RUN_STATE_KEY, {"name": name, **run, "instance_id": None})
        self._runs = self.hook.runs(run["api_version"]) if run.get("api_version") else self._runs
        if not instance_id:
            instance_id = self._resolve_instance(p, run)["instance_id"]
            if store is not None:
                store.set(RUN_STATE_KEY, {"name": name, **run, "instance_id": instance_id})
        instance_id = int(instance_id)
        self._persist_link(context, instance_id, p["project_env"], p["project_id"])
        result = self._ids(p, instance_id, run["dag_id"])
        self._lineage_result = result  # for OpenLineage, which runs after the task in a forked process
        if not self.wait_for_completion:
            return result

        # The same wait as WaitForInstanceSensor (DataWorksInstanceWaitMixin).
        self._project_id = p["project_id"]
        self._start_watch(
            context, instance_id, p["project_env"], self.poll_interval,
            project_id=p["project_id"], node_id=p["node_id"], bizdate=p["bizdate"],
        )
        watch = self._watch
        if TYPE_CHECKING:
            assert watch is not None  # _start_watch set it up
        if self.deferrable:
            done, _, instance = self._poll_instance(watch)
            if done:
                self._finish_instance(instance, watch)
                return result
            self._defer_wait(context, watch, self.timeout, result=result)
        self._wait_blocking(watch, self.timeout)
        return result

    def _ids(self, p: dict, instance_id: int, dag_id: Any) -> dict:
        """The return value: where the run is, in the names of the API it runs on."""
        runs = self._runs
        if TYPE_CHECKING:
            assert runs is not None  # execute chose the run object first
        result = {
            "project_id": p["project_id"], "project_env": p["project_env"], "node_id": p["node_id"],
            "dag_id": dag_id, "instance_id": instance_id, "bizdate": p["bizdate"], "api_version": runs.version,
        }
        if runs.new_console:  # 2024-05-18: the new API's own names for the same ids (node_id stays the node's)
            task_id = runs.describe_node(p["node_id"], project_id=p["project_id"], project_env=p["project_env"])["TaskId"]
            result.update(task_id=task_id, workflow_instance_id=dag_id)
        return result

    def execute_complete(self, context: Any, event: dict, result: Any = None, link_url: str = "") -> Any:
        summary = super().execute_complete(context, event, result, link_url)
        if result is not None:
            return result
        # Airflow 3's `airflow dags test` resumes with the event alone, without the kwargs the task
        # deferred with: rebuild the same return value as in a deployment.
        p = self._validated()
        self._runs = self.hook.runs(event.get("api_version"), project_id=p["project_id"], node_id=p["node_id"],
                                    project_env=p["project_env"])
        ids = self._ids(p, int(summary["instance_id"]), summary.get("dag_id"))
        self._lineage_result = ids
        return ids

    def on_kill(self) -> None:
        self._stop_on_kill()


# Names re-exported from here whose module a DAG file need not load: imported on first access.
_REEXPORTED = {
    "DESIGNER_FILE_TYPE": "airflow_provider_pai.utils.dataworks_nodes",
    "DESIGNER_PROGRAM_TYPE": "airflow_provider_pai.utils.dataworks_nodes",
    "designer_check": "airflow_provider_pai.utils.dataworks_nodes",
}


def __getattr__(name: str) -> Any:
    if name in _REEXPORTED:
        from importlib import import_module

        return getattr(import_module(_REEXPORTED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
