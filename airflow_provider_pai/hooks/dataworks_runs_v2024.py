"""The run object of DataWorks OpenAPI 2024-05-18 (workspaces on the new Data Studio).

Runs are workflow instances created asynchronously (``CreateWorkflowInstances`` then
``GetCreateWorkflowInstancesResult``); what runs is the node's scheduled task (``GetNode.TaskId``),
and its instance is a task instance, returned in the 2020-05-18 shape (``task_instance_as_v2020``).
Same protocol as ``LegacyRuns`` (``hooks/dataworks_runs.py``). Rows F-DW24-n in docs/cloud-fidelity.md.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException

from airflow_provider_pai.hooks.base import PaiApiError
from airflow_provider_pai.hooks.dataworks_wire import (
    V2024,
    bizdate_day,
    node_params_to_wire,
    snake_upper,
    task_instance_as_v2020,
)

# CreateWorkflowInstances Type of each run_mode, and the type ListWorkflowInstances filters by.
_TYPES = {"backfill": "SupplementData", "manual": "ManualWorkflow"}


class DataStudioRuns:
    """DataWorks OpenAPI 2024-05-18: start, find, follow and stop runs of one node's task."""

    version = V2024
    new_console = True

    def __init__(self, hook: Any) -> None:
        self.hook = hook

    def describe_node(self, node_id: Any, *, project_id: Any = None, project_env: str = "PROD") -> dict:
        """The node's ``TaskId`` from Data Studio's ``GetNode``; an id that is no Data Studio node is
        read as a task id (``GetTask``). A node that is not deployed is refused (``_node_from_2024``)."""
        hook = self.hook
        known = hook._known_node(node_id, self.version)
        if known:
            return known
        found = None
        if project_id is not None:
            try:
                node = hook.get_data_studio_node(node_id, project_id)
            except PaiApiError as exc:
                if exc.code.startswith("Throttling") or (exc.status_code or 0) >= 500:
                    raise  # the retries are spent: a fault, not an answer about the id
                node = None  # not a Data Studio node id: a task id then
            if node:
                found = hook._node_from_2024(node_id, node, None)
        node = found or hook._node_from_2024(node_id, None, hook.get_task(node_id, project_env=project_env))
        return hook._remember_node(node_id, node)

    def _workflow_of(self, task_id: int, node_id: Any, project_env: str) -> int:
        """The manually triggered workflow the task belongs to (``GetTask.WorkflowId``, F-DW24-19)."""
        task = self.hook.get_task(task_id, project_env=project_env)
        workflow_id = task.get("WorkflowId")
        if not workflow_id or int(workflow_id) == 1:  # 1: the periodic scheduler, not a manual workflow
            raise AirflowException(
                f"run_mode='manual': DataWorks node {node_id} (task {task_id}) is not in a manually triggered "
                f"workflow (GetTask WorkflowId={workflow_id!r}); run a scheduled node with run_mode='backfill'.")
        return int(workflow_id)

    def start(self, *, project_id, node_id, bizdate, name, project_env="PROD", node_params=None,
              run_mode="backfill", project_name=None, flow_name=None, took_effect=None) -> dict:
        task_id = self.describe_node(node_id, project_id=project_id, project_env=project_env)["TaskId"]
        workflow_id = self._workflow_of(task_id, node_id, project_env) if run_mode == "manual" else None
        operation_id = self.hook.create_workflow_instances(
            project_id=project_id, task_id=task_id, bizdate=bizdate, name=name, project_env=project_env,
            task_params=node_params_to_wire(node_params, task_id), is_done=took_effect, workflow_id=workflow_id)
        return {"api_version": V2024, "dag_id": None, "operation_id": operation_id}

    def find_instance(self, run, *, project_id, node_id, bizdate, project_env="PROD") -> dict | None:
        if not run.get("dag_id"):
            result = self.hook.get_create_workflow_instances_result(run["operation_id"])
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
        rows = self.hook.list_task_instances(project_id=project_id, bizdate=bizdate, workflow_instance_id=dag_id,
                                             task_id=task_id, project_env=env)
        if not rows:
            return None
        return {"dag_id": int(dag_id), "instance_id": rows[0]["Id"], "status": snake_upper(rows[0].get("Status"))}

    def find_by_name(self, *, project_id, node_id, bizdate, name, project_env="PROD",
                     run_mode="backfill") -> dict | None:
        runs = [w for w in self.hook.list_workflow_instances(
                    project_id=project_id, bizdate=bizdate, name=name, type=_TYPES.get(run_mode, "SupplementData"),
                    project_env=project_env)
                if w.get("Name") == name]  # Name matches fuzzily on DataWorks (F-DW24-4)
        if not runs:
            return None
        newest = max(runs, key=lambda w: int(w["Id"]))
        found = self._task_instance_in(newest["Id"], project_id, node_id, bizdate, project_env)
        return found or {"dag_id": int(newest["Id"]), "instance_id": None, "status": None}

    def successful_runs(self, *, project_id, node_id, bizdate=None, project_env="PROD") -> list[dict]:
        """2024-05-18 lists task instances one business date at a time (F-DW24-5): this looks at
        ``bizdate`` and, if it has none, the day before: two calls at most."""
        task_id = self.describe_node(node_id, project_id=project_id, project_env=project_env)["TaskId"]
        day = bizdate_day(bizdate) if bizdate is not None else datetime.datetime.now(datetime.timezone.utc).date()
        for back in (0, 1):
            rows = self.hook.list_task_instances(project_id=project_id, bizdate=day - datetime.timedelta(days=back),
                                                 task_id=task_id, status="Success", project_env=project_env)
            if rows:
                return [task_instance_as_v2020(r) for r in rows]
        return []

    def get_instance(self, instance_id, project_env="PROD") -> dict:
        return task_instance_as_v2020(self.hook.get_task_instance(instance_id))

    async def get_instance_async(self, instance_id, project_env="PROD") -> dict:
        return task_instance_as_v2020(await self.hook.get_task_instance_async(instance_id))

    def get_log(self, instance_id, project_env="PROD") -> str:
        return self.hook.get_task_instance_log(instance_id)

    async def get_log_async(self, instance_id, project_env="PROD") -> str:
        return await self.hook.get_task_instance_log_async(instance_id)

    def _stopped(self, instance_id: int, info: dict) -> bool:
        entry = info.get(str(instance_id)) or {}
        if not entry.get("Success"):  # HTTP 200 does not mean this id stopped (F-DW24-8)
            self.hook.log.warning("DataWorks did not stop instance %s: %s", instance_id, entry.get("Message") or info)
        return bool(entry.get("Success"))

    def stop(self, instance_id, project_env="PROD") -> bool:
        return self._stopped(instance_id, self.hook.stop_task_instances([instance_id]))

    async def stop_async(self, instance_id, project_env="PROD") -> bool:
        return self._stopped(instance_id, await self.hook.stop_task_instances_async([instance_id]))
