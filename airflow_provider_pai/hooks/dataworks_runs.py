"""One run object per DataWorks OpenAPI, chosen once per workspace; the hook's API-neutral calls.

Mixed into ``DataWorksHook``. Which API: the connection extra ``dataworks_api_version``
(``2020-05-18``, ``2024-05-18`` or ``auto``, the default). DataWorks says a workspace on the new
Data Studio must be driven with 2024-05-18 and a legacy one with 2020-05-18, and no documented field
says which a workspace is (F-DW24-11), so ``auto`` decides from where the node is found, once per
workspace and hook, and logs why. Unclear evidence means 2020-05-18, said in the log; a probe the
service cannot answer (5xx, throttling) fails at once, naming the extra that skips probing.

``hook.runs(...)`` returns a ``LegacyRuns`` (2020-05-18) or a ``DataStudioRuns`` (2024-05-18): the
same small protocol (``DataWorksRuns``) to start a run, find it by name, get its instance, read the
log and stop it, each with its async twin where a trigger needs it. Every answer is in the shapes the
operators know from 2020-05-18 (``GetInstance`` keys, 2020 status names) plus the 2024 ids where
they differ (``TaskId``, ``TaskInstanceId``, ...). The run objects hold no state of their own
beyond the hook: the hook caches the choice and the nodes it has seen.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.hooks.base import PaiApiError
from airflow_provider_pai.hooks.dataworks_runs_v2024 import DataStudioRuns  # noqa: F401  (one per API)
from airflow_provider_pai.hooks.dataworks_wire import API_VERSIONS, EXTRA, V2020, V2024, spec_command

if TYPE_CHECKING:
    from airflow.sdk.types import Logger


class DataWorksRuns(Protocol):
    """What the operators, the sensor and the trigger need from one DataWorks OpenAPI."""

    version: str  # "2020-05-18" or "2024-05-18": the XCom key ``api_version`` and the watch store it
    new_console: bool  # links open the new DataWorks console (new Data Studio workspaces)

    def describe_node(self, node_id: Any, *, project_id: Any = None, project_env: str = "PROD") -> dict: ...

    def start(self, *, project_id: int, node_id: int, bizdate: Any, name: str, project_env: str = "PROD",
              node_params: Any = None, run_mode: str = "backfill", project_name: str | None = None,
              flow_name: str | None = None, took_effect: Any = None) -> dict: ...

    def find_instance(self, run: dict, *, project_id: int, node_id: int, bizdate: Any,
                      project_env: str = "PROD") -> dict | None: ...

    def find_by_name(self, *, project_id: int, node_id: int, bizdate: Any, name: str,
                     project_env: str = "PROD", run_mode: str = "backfill") -> dict | None: ...

    def successful_runs(self, *, project_id: int, node_id: int, bizdate: Any = None,
                        project_env: str = "PROD") -> list[dict]: ...

    def get_instance(self, instance_id: int, project_env: str = "PROD") -> dict: ...

    async def get_instance_async(self, instance_id: int, project_env: str = "PROD") -> dict: ...

    def get_log(self, instance_id: int, project_env: str = "PROD") -> str: ...

    async def get_log_async(self, instance_id: int, project_env: str = "PROD") -> str: ...

    def stop(self, instance_id: int, project_env: str = "PROD") -> bool: ...

    async def stop_async(self, instance_id: int, project_env: str = "PROD") -> bool: ...


class LegacyRuns:
    """DataWorks OpenAPI 2020-05-18 (legacy Data Studio): runs are DAGs, ``NodeId`` is what runs take."""

    version = V2020
    new_console = False

    def __init__(self, hook: Any) -> None:
        self.hook = hook

    def describe_node(self, node_id: Any, *, project_id: Any = None, project_env: str = "PROD") -> dict:
        known = self.hook._known_node(node_id, self.version)
        if known:
            return known
        node = {**self.hook.get_node(node_id, project_env=project_env), "ApiVersion": V2020}
        node["TaskId"] = node.get("NodeId")
        return self.hook._remember_node(node_id, node)

    def start(self, *, project_id, node_id, bizdate, name, project_env="PROD", node_params=None,
              run_mode="backfill", project_name=None, flow_name=None, took_effect=None) -> dict:
        hook = self.hook
        if run_mode == "manual":
            dag_id = hook.run_manual_dag_nodes(
                project_name=project_name, flow_name=flow_name, bizdate=bizdate, project_env=project_env,
                node_id=node_id, node_params=node_params, project_id=project_id)
            return {"api_version": V2020, "dag_id": int(dag_id), "operation_id": None}

        def took_effect_2020():
            dag_id = took_effect() if took_effect else None
            return [dag_id] if dag_id else None

        # StartFutureInstanceImmediately: a business date whose run time is ahead runs now (F-DW-1)
        dag_ids = hook.run_cycle_dag_nodes(
            node_id=node_id, bizdate=bizdate, name=name, project_env=project_env, node_params=node_params,
            start_future_instance_immediately=True, is_done=took_effect_2020)
        if not dag_ids:
            raise AirflowException(
                f"RunCycleDagNodes for node {node_id} on {bizdate} returned no DAG: DataWorks created no "
                "instance (is the node deployed in this project_env?).")
        return {"api_version": V2020, "dag_id": int(dag_ids[0]), "operation_id": None}

    def find_instance(self, run, *, project_id, node_id, bizdate, project_env="PROD") -> dict | None:
        found = self.hook.list_instances(project_id=project_id, project_env=project_env, dag_id=run["dag_id"])
        ours = [i for i in found if str(i.get("NodeId")) == str(node_id)] or found
        if not ours:
            return None
        return {"dag_id": run["dag_id"], "instance_id": ours[0]["InstanceId"], "status": ours[0].get("Status")}

    def find_by_name(self, *, project_id, node_id, bizdate, name, project_env="PROD",
                     run_mode="backfill") -> dict | None:
        hook = self.hook
        instances = hook.list_instances(project_id=project_id, project_env=project_env, node_id=node_id,
                                        bizdate=bizdate)
        by_dag: dict[int, dict] = {}
        for inst in instances:
            # Backfill runs are SUPPLY_DATA DAGs: the node's daily instance is never ours.
            dag_type = str(inst.get("DagType") or "SUPPLY_DATA").split("(")[0]  # "SUPPLY_DATA(3)" too
            if inst.get("DagId") and dag_type == "SUPPLY_DATA":
                by_dag.setdefault(int(inst["DagId"]), inst)
        for dag_id in sorted(by_dag, reverse=True):
            if hook.get_dag(dag_id, project_env=project_env).get("Name") == name:
                inst = by_dag[dag_id]
                return {"dag_id": dag_id, "instance_id": inst.get("InstanceId"), "status": inst.get("Status")}
        return None

    def successful_runs(self, *, project_id, node_id, bizdate=None, project_env="PROD") -> list[dict]:
        return self.hook.list_instances(project_id=project_id, project_env=project_env, node_id=node_id,
                                        status="SUCCESS")

    def get_instance(self, instance_id, project_env="PROD") -> dict:
        return {**self.hook.get_instance(instance_id, project_env=project_env), "ApiVersion": V2020}

    async def get_instance_async(self, instance_id, project_env="PROD") -> dict:
        return {**await self.hook.get_instance_async(instance_id, project_env=project_env), "ApiVersion": V2020}

    def get_log(self, instance_id, project_env="PROD") -> str:
        return self.hook.get_instance_log(instance_id, project_env=project_env)

    async def get_log_async(self, instance_id, project_env="PROD") -> str:
        return await self.hook.get_instance_log_async(instance_id, project_env=project_env)

    def stop(self, instance_id, project_env="PROD") -> bool:
        return self.hook.stop_instance(instance_id, project_env=project_env)

    async def stop_async(self, instance_id, project_env="PROD") -> bool:
        return await self.hook.stop_instance_async(instance_id, project_env=project_env)


class DataWorksRunsMixin:
    """The API choice, ``runs()``, and the API-neutral calls. Needs the 2020 methods and
    ``DataWorksV2024Mixin``."""

    _dw_choices: dict | None = None
    _dw_nodes: dict | None = None

    if TYPE_CHECKING:  # from the hook class: AlibabaCloudBaseHook, DataWorksHook (2020) and DataWorksV2024Mixin
        pai_conn_id: str

        @property
        def extras(self) -> dict[str, Any]: ...

        @property
        def log(self) -> Logger: ...

        def get_node(self, node_id: int, project_env: str = "PROD", *, retry: bool = True) -> dict: ...

        def get_instance(self, instance_id: int, project_env: str = "PROD", *, retry: bool = True) -> dict: ...

        def get_task(self, task_id: int, project_env: str = "PROD", *, retry: bool = True) -> dict: ...

        def get_data_studio_node(self, node_id: Any, project_id: int, *, retry: bool = True) -> dict: ...

        def get_task_instance(self, instance_id: int, *, retry: bool = True) -> dict: ...

    # ---- which API ------------------------------------------------------------------------------

    @property
    def api_version_setting(self) -> str:
        value = str(self.extras.get(EXTRA) or "auto").strip().lower()
        if value not in API_VERSIONS:
            raise AirflowException(
                f"Connection '{self.pai_conn_id}': invalid extra {EXTRA}={value!r}; use one of "
                f"{', '.join(API_VERSIONS)} (auto: 2024-05-18 for workspaces on the new Data Studio)."
            )
        return value

    def runs(self, version: str | None = None, *, project_id: Any = None, node_id: Any = None,
             instance_id: Any = None, project_env: str = "PROD") -> DataWorksRuns:
        """The run object of ``version``, else of the API this workspace (or instance) needs."""
        if version is None:
            version = self.api_version(project_id=project_id, node_id=node_id, instance_id=instance_id,
                                       project_env=project_env)
        elif project_id is not None or instance_id is not None:
            self.use_api_version(version, project_id=project_id, instance_id=instance_id)
        if version == V2020:
            return LegacyRuns(self)
        if version == V2024:
            return DataStudioRuns(self)
        raise AirflowException(f"api_version must be {V2020} or {V2024}, got {version!r}")

    async def runs_async(self, version: str | None = None, *, instance_id: Any = None,
                         project_env: str = "PROD") -> DataWorksRuns:
        """``runs`` off the event loop: reading the connection and the probes block."""
        if version is None:
            version = await self.api_version_async(instance_id=instance_id, project_env=project_env)
        return self.runs(version)

    def api_version(
        self, *, project_id: Any = None, node_id: Any = None, instance_id: Any = None, project_env: str = "PROD"
    ) -> str:
        """The API for this workspace (or instance): forced by the extra, else detected once and cached."""
        if self._dw_choices is None:
            self._dw_choices, self._dw_nodes = {}, {}
        key = self._choice_key(project_id, instance_id)
        if key in self._dw_choices:
            return self._dw_choices[key]
        setting = self.api_version_setting
        if setting != "auto":
            version, why = setting, f"forced by the connection extra {EXTRA}"
        else:
            version, why = self._detect(project_id, node_id, instance_id, project_env)
        self._dw_choices[key] = version
        what = f"workspace {project_id}" if project_id is not None else f"instance {instance_id}"
        self.log.info("DataWorks OpenAPI %s for %s: %s", version, what, why)
        return version

    def use_api_version(self, version: str, *, project_id: Any = None, instance_id: Any = None) -> None:
        """Adopt a choice made earlier (e.g. by the task that started the run): no probe for it again."""
        if version not in (V2020, V2024):
            raise AirflowException(f"api_version must be {V2020} or {V2024}, got {version!r}")
        if self._dw_choices is None:
            self._dw_choices, self._dw_nodes = {}, {}
        for key in {self._choice_key(project_id, instance_id), self._choice_key(None, instance_id)}:
            self._dw_choices.setdefault(key, version)

    @staticmethod
    def _choice_key(project_id: Any, instance_id: Any) -> tuple[str, str]:
        return ("project", str(project_id)) if project_id is not None else ("instance", str(instance_id))

    async def api_version_async(self, *, project_id: Any = None, instance_id: Any = None, **kwargs: Any) -> str:
        """``api_version`` off the event loop: reading the connection and the probes block."""
        known = (self._dw_choices or {}).get(self._choice_key(project_id, instance_id))
        if known:
            return known
        return await asyncio.to_thread(
            lambda: self.api_version(project_id=project_id, instance_id=instance_id, **kwargs))

    def _detect(self, project_id, node_id, instance_id, env) -> tuple[str, str]:
        """(version, why) from probes; each probe's answer is kept for the calls that follow.

        A probe runs with ``retry=False``: an answer that says "not here" is evidence; a server error
        (5xx), at the fifth, ends the detection at once, naming the extra (throttling
        and resets are retried as everywhere).
        """
        notes: list[str] = []

        def probe(label, fn):
            try:
                return fn()
            except PaiApiError as exc:
                if exc.code.startswith("Throttling") or (exc.status_code or 0) >= 500:
                    raise AirflowException(
                        f"Could not tell which DataWorks OpenAPI the workspace needs: the probe {label} got no "
                        f"answer ({exc.code}, HTTP {exc.status_code}, request id {exc.request_id}). Retry later, "
                        f"or set the connection '{self.pai_conn_id}' extra {EXTRA} to 2024-05-18 (new Data "
                        "Studio) or 2020-05-18 (legacy Data Studio) to skip the probe.") from exc
                notes.append(f"{label}: {exc.code}")
                return None

        if node_id is not None:
            if project_id is not None:
                node = probe("2024-05-18 GetNode",
                             lambda: self.get_data_studio_node(node_id, project_id, retry=False))
                if node:
                    self._remember_node(node_id, self._node_from_2024(node_id, node, None))
                    return V2024, (f"node {node_id} is a new Data Studio node (2024-05-18 GetNode found it, "
                                   f"scheduled as task {node.get('TaskId')})")
            old = probe("2020-05-18 GetNode", lambda: self.get_node(node_id, project_env=env, retry=False))
            if old and (project_id is None or str(old.get("ProjectId")) == str(project_id)):
                self._remember_node(node_id, {**old, "TaskId": old.get("NodeId"), "ApiVersion": V2020})
                return V2020, (f"node {node_id} is a legacy Data Studio node (2020-05-18 GetNode found it"
                               + (", 2024-05-18 GetNode did not)" if project_id is not None else ")"))
            task = probe("2024-05-18 GetTask", lambda: self.get_task(node_id, project_env=env, retry=False))
            if task and (project_id is None or str(task.get("ProjectId")) == str(project_id)):
                self._remember_node(node_id, self._node_from_2024(node_id, None, task))
                return V2024, f"2024-05-18 GetTask found scheduled task {node_id}; 2020-05-18 GetNode did not"
        elif instance_id is not None:
            if probe("2020-05-18 GetInstance", lambda: self.get_instance(instance_id, project_env=env, retry=False)):
                return V2020, f"2020-05-18 GetInstance found instance {instance_id}"
            if probe("2024-05-18 GetTaskInstance", lambda: self.get_task_instance(instance_id, retry=False)):
                return V2024, f"2024-05-18 GetTaskInstance found instance {instance_id}; 2020-05-18 did not"
        found = "; ".join(notes) or "nothing to probe"
        return V2020, (f"the evidence is unclear ({found}), so the legacy Data Studio's API is used; set the "
                       f"connection extra {EXTRA} to 2024-05-18 if the workspace is on the new Data Studio")

    # ---- the node -------------------------------------------------------------------------------

    def _remember_node(self, node_id: Any, node: dict) -> dict:
        if self._dw_nodes is None:
            self._dw_choices, self._dw_nodes = {}, {}
        self._dw_nodes[str(node_id)] = node
        return node

    def _known_node(self, node_id: Any, version: str) -> dict | None:
        known = (self._dw_nodes or {}).get(str(node_id))
        return known if known and known["ApiVersion"] == version else None

    @staticmethod
    def _node_from_2024(node_id: Any, node: dict | None, task: dict | None) -> dict:
        """The node in 2020 ``GetNode`` names plus its ``TaskId``; a Data Studio node that was never
        deployed (``TaskId`` empty, F-DW24-10) is refused here, before anything runs."""
        node, task = node or {}, task or {}
        if node and not task and not node.get("TaskId"):
            raise AirflowException(
                f"DataWorks node {node_id} ({node.get('Name') or 'unnamed'}) exists in Data Studio but is not "
                "deployed: GetNode names no scheduled task (TaskId is empty), so there is nothing to run. Deploy "
                "the node in Data Studio (submit and deploy it to the production environment), then retry.")
        return {
            "NodeId": int(node_id), "NodeName": node.get("Name") or task.get("Name"),
            "ProgramType": task.get("Type") or spec_command(node.get("Spec")), "FileType": None,
            "ProjectId": node.get("ProjectId") or task.get("ProjectId"),
            "TaskId": int(node.get("TaskId") or task.get("Id") or node_id), "ApiVersion": V2024,
            "WorkflowId": task.get("WorkflowId"),
        }

    # ---- API-neutral calls (each through the run object of the version) ---------------------------

    def describe_node(self, node_id: Any, *, project_id: Any = None, project_env: str = "PROD",
                      api_version: str | None = None) -> dict:
        """``{NodeId, NodeName, ProgramType, FileType, ProjectId, TaskId, ApiVersion}`` of a deployed node.

        2024-05-18 has no integer file type (``FileType`` None); ``TaskId`` is what runs take.
        """
        runs = self.runs(api_version, project_id=project_id, node_id=node_id, project_env=project_env)
        return runs.describe_node(node_id, project_id=project_id, project_env=project_env)

    def start_run(
        self, *, project_id: int, node_id: int, bizdate: Any, name: str, project_env: str = "PROD",
        node_params: Any = None, run_mode: str = "backfill", project_name: str | None = None,
        flow_name: str | None = None,
    ) -> dict:
        """Start one run; ``{"api_version", "dag_id", "operation_id"}`` (2024: DAG id once created).

        A lost answer is not resent blindly: before a retry the run is looked up by ``name``.
        """
        runs = self.runs(project_id=project_id, node_id=node_id, project_env=project_env)
        found: dict = {}

        def took_effect():
            # Asked by the retry policy before repeating the call: did the lost attempt start a run?
            found.update(runs.find_by_name(project_id=project_id, node_id=node_id, bizdate=bizdate, name=name,
                                           project_env=project_env, run_mode=run_mode) or {})
            return found.get("dag_id")

        run = runs.start(project_id=project_id, node_id=node_id, bizdate=bizdate, name=name,
                         project_env=project_env, node_params=node_params, run_mode=run_mode,
                         project_name=project_name, flow_name=flow_name, took_effect=took_effect)
        if found.get("dag_id") and not run.get("dag_id"):  # a lost answer had created it: nothing to follow
            return {"api_version": runs.version, "dag_id": int(found["dag_id"]), "operation_id": None}
        return run

    def find_run_instance(self, run: dict, *, project_id: int, node_id: int, bizdate: Any,
                          project_env: str = "PROD") -> dict | None:
        """One look for the node's instance in a started run: ``{dag_id, instance_id, status}``, None if
        not there yet (the caller polls). Sets ``run["dag_id"]`` once the 2024 creation is done."""
        return self.runs(run.get("api_version") or V2020).find_instance(
            run, project_id=project_id, node_id=node_id, bizdate=bizdate, project_env=project_env)

    def find_run_by_name(self, *, project_id: int, node_id: int, bizdate: Any, name: str,
                         project_env: str = "PROD", run_mode: str = "backfill") -> dict | None:
        """The newest run called ``name`` of this node and date: ``{dag_id, instance_id, status}``."""
        runs = self.runs(project_id=project_id, node_id=node_id, project_env=project_env)
        return runs.find_by_name(project_id=project_id, node_id=node_id, bizdate=bizdate, name=name,
                                 project_env=project_env, run_mode=run_mode)

    def successful_runs(self, *, project_id: int, node_id: int, bizdate: Any = None,
                        project_env: str = "PROD", api_version: str | None = None) -> list[dict]:
        """Finished successful runs of the node, for its typical duration (2020 instance shape)."""
        runs = self.runs(api_version, project_id=project_id, node_id=node_id, project_env=project_env)
        return runs.successful_runs(project_id=project_id, node_id=node_id, bizdate=bizdate,
                                    project_env=project_env)

    def get_run_instance(self, instance_id: int, project_env: str = "PROD", *, api_version: str | None = None) -> dict:
        """The instance in 2020 ``GetInstance`` shape (plus 2024 ids), through whichever API."""
        return self.runs(api_version, instance_id=instance_id, project_env=project_env).get_instance(
            instance_id, project_env)

    async def get_run_instance_async(self, instance_id: int, project_env: str = "PROD", *,
                                     api_version: str | None = None) -> dict:
        runs = await self.runs_async(api_version, instance_id=instance_id, project_env=project_env)
        return await runs.get_instance_async(instance_id, project_env)

    def get_run_log(self, instance_id: int, project_env: str = "PROD", *, api_version: str | None = None) -> str:
        """The whole log so far of the instance's latest run."""
        return self.runs(api_version, instance_id=instance_id, project_env=project_env).get_log(
            instance_id, project_env)

    async def get_run_log_async(self, instance_id: int, project_env: str = "PROD", *,
                                api_version: str | None = None) -> str:
        runs = await self.runs_async(api_version, instance_id=instance_id, project_env=project_env)
        return await runs.get_log_async(instance_id, project_env)

    def stop_run_instance(self, instance_id: int, project_env: str = "PROD", *, api_version: str | None = None) -> bool:
        """Ask DataWorks to stop the instance (it ends as FAILURE a little later)."""
        return self.runs(api_version, instance_id=instance_id, project_env=project_env).stop(instance_id, project_env)

    async def stop_run_instance_async(self, instance_id: int, project_env: str = "PROD", *,
                                      api_version: str | None = None) -> bool:
        runs = await self.runs_async(api_version, instance_id=instance_id, project_env=project_env)
        return await runs.stop_async(instance_id, project_env)

