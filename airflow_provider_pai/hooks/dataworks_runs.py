"""One way to run a node and follow its instance, whichever DataWorks OpenAPI the workspace needs.

Mixed into ``DataWorksHook``. Which API: the connection extra ``dataworks_api_version``
(``2020-05-18``, ``2024-05-18`` or ``auto``, the default). DataWorks says a workspace on the new
Data Studio must be driven with 2024-05-18 and a legacy one with 2020-05-18, and no documented field
says which a workspace is (F-DW24-11), so ``auto`` decides from where the node is found, once per
workspace and hook, and logs why. Unclear evidence means 2020-05-18, said in the log.

Every method returns the shapes the operators know from 2020-05-18 (``GetInstance`` keys, 2020
status names) plus the 2024 ids where they differ (``TaskId``, ``TaskInstanceId``, ...).
"""

from __future__ import annotations

import asyncio
import datetime
import json
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.hooks.base import PaiApiError
from airflow_provider_pai.hooks.dataworks_v2024 import V2024, bizdate_day, snake_upper, task_instance_as_v2020

V2020 = "2020-05-18"
API_VERSIONS = (V2020, V2024, "auto")
EXTRA = "dataworks_api_version"


def _spec_command(spec: Any) -> str | None:
    """The node type in a FlowSpec (``script.runtime.command``, F-DW24-10), None when absent."""
    try:
        nodes = json.loads(spec)["spec"]["nodes"]
        return nodes[0]["script"]["runtime"]["command"]
    except (TypeError, ValueError, KeyError, IndexError):
        return None


class DataWorksRunsMixin:
    """API choice and the API-neutral calls. Needs the 2020 methods and ``DataWorksV2024Mixin``."""

    _dw_choices: dict | None = None
    _dw_nodes: dict | None = None

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
        """(version, why) from probes; each probe's answer is kept for the calls that follow."""
        notes: list[str] = []

        def probe(label, fn):
            try:
                return fn()
            except PaiApiError as exc:
                notes.append(f"{label}: {exc.code}")
                return None

        if node_id is not None:
            if project_id is not None:
                node = probe("2024-05-18 GetNode", lambda: self.get_data_studio_node(node_id, project_id))
                if node:
                    self._remember_node(node_id, self._node_from_2024(node_id, node, None))
                    return V2024, (f"node {node_id} is a new Data Studio node (2024-05-18 GetNode found it, "
                                   f"scheduled as task {node.get('TaskId')})")
            old = probe("2020-05-18 GetNode", lambda: self.get_node(node_id, project_env=env))
            if old and (project_id is None or str(old.get("ProjectId")) == str(project_id)):
                self._remember_node(node_id, {**old, "TaskId": old.get("NodeId"), "ApiVersion": V2020})
                return V2020, (f"node {node_id} is a legacy Data Studio node (2020-05-18 GetNode found it"
                               + (", 2024-05-18 GetNode did not)" if project_id is not None else ")"))
            task = probe("2024-05-18 GetTask", lambda: self.get_task(node_id, project_env=env))
            if task and (project_id is None or str(task.get("ProjectId")) == str(project_id)):
                self._remember_node(node_id, self._node_from_2024(node_id, None, task))
                return V2024, f"2024-05-18 GetTask found scheduled task {node_id}; 2020-05-18 GetNode did not"
        elif instance_id is not None:
            if probe("2020-05-18 GetInstance", lambda: self.get_instance(instance_id, project_env=env)):
                return V2020, f"2020-05-18 GetInstance found instance {instance_id}"
            if probe("2024-05-18 GetTaskInstance", lambda: self.get_task_instance(instance_id)):
                return V2024, f"2024-05-18 GetTaskInstance found instance {instance_id}; 2020-05-18 did not"
        found = "; ".join(notes) or "nothing to probe"
        return V2020, (f"the evidence is unclear ({found}), so the legacy Data Studio's API is used; set the "
                       f"connection extra {EXTRA} to 2024-05-18 if the workspace is on the new Data Studio")

    # ---- the node -------------------------------------------------------------------------------

    def _remember_node(self, node_id: Any, node: dict) -> None:
        if self._dw_nodes is None:
            self._dw_choices, self._dw_nodes = {}, {}
        self._dw_nodes[str(node_id)] = node

    @staticmethod
    def _node_from_2024(node_id: Any, node: dict | None, task: dict | None) -> dict:
        node, task = node or {}, task or {}
        return {
            "NodeId": int(node_id), "NodeName": node.get("Name") or task.get("Name"),
            "ProgramType": task.get("Type") or _spec_command(node.get("Spec")), "FileType": None,
            "ProjectId": node.get("ProjectId") or task.get("ProjectId"),
            "TaskId": int(node.get("TaskId") or task.get("Id") or node_id), "ApiVersion": V2024,
        }

    def describe_node(self, node_id: Any, *, project_id: Any = None, project_env: str = "PROD",
                      api_version: str | None = None) -> dict:
        """``{NodeId, NodeName, ProgramType, FileType, ProjectId, TaskId, ApiVersion}`` of a deployed node.

        2024-05-18 has no integer file type (``FileType`` None); ``TaskId`` is what runs take.
        """
        version = api_version or self.api_version(project_id=project_id, node_id=node_id, project_env=project_env)
        known = (self._dw_nodes or {}).get(str(node_id))
        if known and known["ApiVersion"] == version:
            return known
        if version == V2020:
            node = {**self.get_node(node_id, project_env=project_env), "ApiVersion": V2020}
            node["TaskId"] = node.get("NodeId")
        else:
            found = None
            if project_id is not None:
                try:
                    found = self._node_from_2024(node_id, self.get_data_studio_node(node_id, project_id), None)
                except PaiApiError:
                    found = None  # not a Data Studio node id: a task id then
            node = found or self._node_from_2024(node_id, None, self.get_task(node_id, project_env=project_env))
        self._remember_node(node_id, node)
        return node

    # ---- starting and finding runs --------------------------------------------------------------

    def start_run(
        self, *, project_id: int, node_id: int, bizdate: Any, name: str, project_env: str = "PROD",
        node_params: Any = None, run_mode: str = "backfill", project_name: str | None = None,
        flow_name: str | None = None,
    ) -> dict:
        """Start one run; ``{"api_version", "dag_id", "operation_id"}`` (2024: DAG id once created).

        A lost answer is not resent blindly: before a retry the run is looked up by ``name``.
        """
        from airflow_provider_pai.hooks.dataworks import node_params_to_wire

        version = self.api_version(project_id=project_id, node_id=node_id, project_env=project_env)
        found: dict = {}

        def took_effect():
            # Asked by the retry policy before repeating the call: did the lost attempt start a run?
            found.update(self.find_run_by_name(project_id=project_id, node_id=node_id, bizdate=bizdate,
                                               name=name, project_env=project_env) or {})
            return found.get("dag_id")

        def took_effect_2020():
            dag_id = took_effect()
            return [dag_id] if dag_id else None

        if version == V2020:
            if run_mode == "manual":
                dag_id = self.run_manual_dag_nodes(
                    project_name=project_name, flow_name=flow_name, bizdate=bizdate, project_env=project_env,
                    node_id=node_id, node_params=node_params, project_id=project_id)
                return {"api_version": V2020, "dag_id": int(dag_id), "operation_id": None}
            dag_ids = self.run_cycle_dag_nodes(
                node_id=node_id, bizdate=bizdate, name=name, project_env=project_env, node_params=node_params,
                start_future_instance_immediately=True, is_done=took_effect_2020)
            if not dag_ids:
                raise AirflowException(
                    f"RunCycleDagNodes for node {node_id} on {bizdate} returned no DAG: DataWorks created no "
                    "instance (is the node deployed in this project_env?).")
            return {"api_version": V2020, "dag_id": int(dag_ids[0]), "operation_id": None}
        if run_mode == "manual":
            raise AirflowException(
                "run_mode='manual' (a manually triggered workflow by name) is not supported with DataWorks "
                "OpenAPI 2024-05-18 yet: use run_mode='backfill', or force 2020-05-18 for a legacy workspace.")
        task_id = self.describe_node(node_id, project_id=project_id, project_env=project_env)["TaskId"]
        operation_id = self.create_workflow_instances(
            project_id=project_id, task_id=task_id, bizdate=bizdate, name=name, project_env=project_env,
            task_params=node_params_to_wire(node_params, task_id), is_done=took_effect)
        if found.get("dag_id"):  # a lost answer had created it: no operation to follow
            return {"api_version": V2024, "dag_id": int(found["dag_id"]), "operation_id": None}
        return {"api_version": V2024, "dag_id": None, "operation_id": operation_id}

    def find_run_instance(self, run: dict, *, project_id: int, node_id: int, bizdate: Any,
                          project_env: str = "PROD") -> dict | None:
        """One look for the node's instance in a started run: ``{dag_id, instance_id, status}``, None if
        not there yet (the caller polls). Sets ``run["dag_id"]`` once the 2024 creation is done."""
        if (run.get("api_version") or V2020) == V2020:
            found = self.list_instances(project_id=project_id, project_env=project_env, dag_id=run["dag_id"])
            ours = [i for i in found if str(i.get("NodeId")) == str(node_id)] or found
            if not ours:
                return None
            return {"dag_id": run["dag_id"], "instance_id": ours[0]["InstanceId"], "status": ours[0].get("Status")}
        if not run.get("dag_id"):
            result = self.get_create_workflow_instances_result(run["operation_id"])
            status = result.get("Status")
            if status == "CreateFailure":
                raise AirflowException(
                    f"DataWorks could not create the run (CreateWorkflowInstances operation {run['operation_id']}): "
                    f"{result.get('FailureMessage') or 'no reason given'}")
            if status != "Created":
                return None  # Creating (F-DW24-3)
            ids = result.get("WorkflowInstanceIds") or []
            if not ids:
                raise AirflowException(f"DataWorks created run {run['operation_id']} but named no workflow instance.")
            run["dag_id"] = int(ids[0])
        return self._task_instance_in(run["dag_id"], project_id, node_id, bizdate, project_env)

    def _task_instance_in(self, dag_id, project_id, node_id, bizdate, env) -> dict | None:
        task_id = self.describe_node(node_id, project_id=project_id, project_env=env)["TaskId"]
        rows = self.list_task_instances(project_id=project_id, bizdate=bizdate, workflow_instance_id=dag_id,
                                        task_id=task_id, project_env=env)
        if not rows:
            return None
        return {"dag_id": int(dag_id), "instance_id": rows[0]["Id"], "status": snake_upper(rows[0].get("Status"))}

    def find_run_by_name(self, *, project_id: int, node_id: int, bizdate: Any, name: str,
                         project_env: str = "PROD") -> dict | None:
        """The newest backfill run called ``name`` of this node and date: ``{dag_id, instance_id, status}``."""
        version = self.api_version(project_id=project_id, node_id=node_id, project_env=project_env)
        if version == V2020:
            instances = self.list_instances(project_id=project_id, project_env=project_env, node_id=node_id,
                                            bizdate=bizdate)
            by_dag: dict[int, dict] = {}
            for inst in instances:
                # Backfill runs are SUPPLY_DATA DAGs: the node's daily instance is never ours.
                dag_type = str(inst.get("DagType") or "SUPPLY_DATA").split("(")[0]  # "SUPPLY_DATA(3)" too
                if inst.get("DagId") and dag_type == "SUPPLY_DATA":
                    by_dag.setdefault(int(inst["DagId"]), inst)
            for dag_id in sorted(by_dag, reverse=True):
                if self.get_dag(dag_id, project_env=project_env).get("Name") == name:
                    inst = by_dag[dag_id]
                    return {"dag_id": dag_id, "instance_id": inst.get("InstanceId"), "status": inst.get("Status")}
            return None
        runs = [w for w in self.list_workflow_instances(project_id=project_id, bizdate=bizdate, name=name,
                                                        type="SupplementData", project_env=project_env)
                if w.get("Name") == name]  # Name matches fuzzily on DataWorks (F-DW24-4)
        if not runs:
            return None
        newest = max(runs, key=lambda w: int(w["Id"]))
        found = self._task_instance_in(newest["Id"], project_id, node_id, bizdate, project_env)
        return found or {"dag_id": int(newest["Id"]), "instance_id": None, "status": None}

    def successful_runs(self, *, project_id: int, node_id: int, bizdate: Any = None,
                        project_env: str = "PROD", api_version: str | None = None) -> list[dict]:
        """Finished successful runs of the node, for its typical duration (2020 instance shape).

        2024-05-18 lists task instances one business date at a time (F-DW24-5): this looks at
        ``bizdate`` and, if it has none, the day before: two calls at most.
        """
        version = api_version or self.api_version(project_id=project_id, node_id=node_id, project_env=project_env)
        if version == V2020:
            return self.list_instances(project_id=project_id, project_env=project_env, node_id=node_id,
                                       status="SUCCESS")
        task_id = self.describe_node(node_id, project_id=project_id, project_env=project_env,
                                     api_version=version)["TaskId"]
        day = bizdate_day(bizdate) if bizdate is not None else datetime.datetime.now(datetime.timezone.utc).date()
        for back in (0, 1):
            rows = self.list_task_instances(project_id=project_id, bizdate=day - datetime.timedelta(days=back),
                                            task_id=task_id, status="Success", project_env=project_env)
            if rows:
                return [task_instance_as_v2020(r) for r in rows]
        return []

    # ---- one instance ---------------------------------------------------------------------------

    def _version_for(self, instance_id, project_env, api_version) -> str:
        return api_version or self.api_version(instance_id=instance_id, project_env=project_env)

    def get_run_instance(self, instance_id: int, project_env: str = "PROD", *, api_version: str | None = None) -> dict:
        """The instance in 2020 ``GetInstance`` shape (plus 2024 ids), through whichever API."""
        if self._version_for(instance_id, project_env, api_version) == V2020:
            return {**self.get_instance(instance_id, project_env=project_env), "ApiVersion": V2020}
        return task_instance_as_v2020(self.get_task_instance(instance_id))

    async def get_run_instance_async(self, instance_id: int, project_env: str = "PROD", *,
                                     api_version: str | None = None) -> dict:
        version = api_version or await self.api_version_async(instance_id=instance_id, project_env=project_env)
        if version == V2020:
            return {**await self.get_instance_async(instance_id, project_env=project_env), "ApiVersion": V2020}
        return task_instance_as_v2020(await self.get_task_instance_async(instance_id))

    def get_run_log(self, instance_id: int, project_env: str = "PROD", *, api_version: str | None = None) -> str:
        """The whole log so far of the instance's latest run."""
        if self._version_for(instance_id, project_env, api_version) == V2020:
            return self.get_instance_log(instance_id, project_env=project_env)
        return self.get_task_instance_log(instance_id)

    async def get_run_log_async(self, instance_id: int, project_env: str = "PROD", *,
                                api_version: str | None = None) -> str:
        version = api_version or await self.api_version_async(instance_id=instance_id, project_env=project_env)
        if version == V2020:
            return await self.get_instance_log_async(instance_id, project_env=project_env)
        return await self.get_task_instance_log_async(instance_id)

    def _stopped(self, instance_id: int, info: dict) -> bool:
        entry = info.get(str(instance_id)) or {}
        if not entry.get("Success"):  # HTTP 200 does not mean this id stopped (F-DW24-8)
            self.log.warning("DataWorks did not stop instance %s: %s", instance_id, entry.get("Message") or info)
        return bool(entry.get("Success"))

    def stop_run_instance(self, instance_id: int, project_env: str = "PROD", *, api_version: str | None = None) -> bool:
        """Ask DataWorks to stop the instance (it ends as FAILURE a little later)."""
        if self._version_for(instance_id, project_env, api_version) == V2020:
            return self.stop_instance(instance_id, project_env=project_env)
        return self._stopped(instance_id, self.stop_task_instances([instance_id]))

    async def stop_run_instance_async(self, instance_id: int, project_env: str = "PROD", *,
                                      api_version: str | None = None) -> bool:
        version = api_version or await self.api_version_async(instance_id=instance_id, project_env=project_env)
        if version == V2020:
            return await self.stop_instance_async(instance_id, project_env=project_env)
        return self._stopped(instance_id, await self.stop_task_instances_async([instance_id]))
