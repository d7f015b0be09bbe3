"""DataWorks OpenAPI 2024-05-18 (workspaces on the new Data Studio): one method per remote action.

Mixed into ``DataWorksHook``; every call goes through the one retry policy (``self.call``). The
answers are the SDK models' ``to_map()``; ``task_instance_as_v2020`` turns a task instance into the
shape the operators know from 2020-05-18 ``GetInstance``. Facts and sources: docs/cloud-fidelity.md,
section "DataWorks OpenAPI 2024-05-18" (rows F-DW24-n).
"""

from __future__ import annotations

import asyncio
import datetime
import re
from typing import Any

V2024 = "2024-05-18"
CST = datetime.timezone(datetime.timedelta(hours=8))  # business dates are days in UTC+8 (F-DW24-5)
_CLIENT_KEY = "dataworks_v2024"
_ENVS = {"PROD": "Prod", "DEV": "Dev"}
# 2024 WorkflowInstanceType -> the 2020 DagType the operators know (F-DW24-6).
_DAG_TYPES = {"SupplementData": "SUPPLY_DATA", "ManualWorkflow": "MANUAL", "Normal": "DAILY",
              "SmokeTest": "SMOKE_TEST", "Manual": "MANUAL"}
_TASK_TYPE_CODES = {"NORMAL": 0, "MANUAL": 1, "PAUSE": 2, "SKIP": 3, "SKIP_UNCHOOSE": 4}


def snake_upper(value: Any) -> str | None:
    """``WaitResource`` -> ``WAIT_RESOURCE``: 2024 statuses are the 2020 ones in CamelCase (F-DW24-6)."""
    if value is None:
        return None
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(value)).upper()


def bizdate_day(bizdate: Any) -> datetime.date:
    """The business date from a date, ``yyyymmdd``, ``yyyy-mm-dd``, ``yyyy-mm-dd 00:00:00`` or an
    instance's ``Bizdate`` (epoch ms of the day's midnight in UTC+8)."""
    if isinstance(bizdate, datetime.datetime):
        return bizdate.date()
    if isinstance(bizdate, datetime.date):
        return bizdate
    if isinstance(bizdate, int) and not isinstance(bizdate, bool) and bizdate > 10**11:
        return datetime.datetime.fromtimestamp(bizdate / 1000, CST).date()
    text = str(bizdate).strip()
    for fmt in ("%Y%m%d", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"bizdate must be yyyymmdd or yyyy-mm-dd, got {bizdate!r}")


def bizdate_ms(bizdate: Any) -> int:
    """``Bizdate``/``BizDate`` filters: epoch ms of the day's 00:00 in UTC+8 (F-DW24-5)."""
    day = bizdate_day(bizdate)
    return int(datetime.datetime(day.year, day.month, day.day, tzinfo=CST).timestamp() * 1000)


def task_instance_as_v2020(ti: dict) -> dict:
    """A 2024 task instance under 2020 ``GetInstance`` names, plus its own ids (F-DW24-6).

    Status ``Success`` -> ``SUCCESS`` and so on; ``TriggerRecurrence`` (Pause, Skip, ...) becomes the
    2020 ``TaskType`` (``PAUSE(2)``, ``SKIP(3)``) so a frozen or skipped run is reported the same way.
    """
    kind = snake_upper(ti.get("TriggerRecurrence") or "Normal")
    code = _TASK_TYPE_CODES.get(kind)
    return {
        "InstanceId": ti.get("Id"), "NodeId": ti.get("TaskId"), "NodeName": ti.get("TaskName"),
        "DagId": ti.get("WorkflowInstanceId"),
        "DagType": _DAG_TYPES.get(ti.get("WorkflowInstanceType"), snake_upper(ti.get("WorkflowInstanceType"))),
        "Status": snake_upper(ti.get("Status")), "Bizdate": ti.get("Bizdate"), "CycTime": ti.get("TriggerTime"),
        "CreateTime": ti.get("CreateTime"), "ModifyTime": ti.get("ModifyTime"),
        "BeginWaitTimeTime": ti.get("WaitingTriggerTime"), "BeginWaitResTime": ti.get("WaitingResourceTime"),
        "BeginRunningTime": ti.get("StartedTime"), "FinishTime": ti.get("FinishedTime"),
        "TaskType": f"{kind}({code})" if code is not None else kind,
        "TaskRerunTime": max(int(ti.get("RunNumber") or 1) - 1, 0), "ProjectId": ti.get("ProjectId"),
        # the 2024 ids under their own names
        "TaskInstanceId": ti.get("Id"), "TaskId": ti.get("TaskId"), "WorkflowInstanceId": ti.get("WorkflowInstanceId"),
        "RunNumber": ti.get("RunNumber"), "ProgramType": ti.get("TaskType"), "ApiVersion": V2024,
    }


class DataWorksV2024Mixin:
    """The 2024-05-18 actions the provider uses. Needs AlibabaCloudBaseHook (call, tea_config, _clients)."""

    def get_client_v2024(self):
        """The 2024-05-18 SDK client (cached per hook). Same endpoints as 2020-05-18 (F-DW24-15)."""

        def build():
            from alibabacloud_dataworks_public20240518.client import Client

            return Client(self.tea_config("dataworks"))

        return self._cached_client(_CLIENT_KEY, build)

    async def ready_v2024_async(self) -> None:
        """Read the connection and build the client in a worker thread (not on the triggerer's loop)."""
        if _CLIENT_KEY not in self._clients:
            await asyncio.to_thread(self._build_v2024_once)

    def _build_v2024_once(self) -> None:
        with self._client_lock:
            self.get_client_v2024()

    @staticmethod
    def _m24():
        from alibabacloud_dataworks_public20240518 import models

        return models

    def _call24(self, action: str, method: str, request, key: str, *, is_done=None) -> Any:
        def run():
            return getattr(self.get_client_v2024(), method)(request).body.to_map().get(key)

        return self.call(action, run, is_done=is_done)

    async def _call24_async(self, action: str, method: str, request, key: str) -> Any:
        await self.ready_v2024_async()

        async def run():
            response = await getattr(self.get_client_v2024(), f"{method}_async")(request)
            return response.body.to_map().get(key)

        return await self.call_async(action, run)

    # ---- tasks and nodes (F-DW24-9, F-DW24-10) -----------------------------------------------------

    def get_task(self, task_id: int, project_env: str = "PROD") -> dict:
        request = self._m24().GetTaskRequest(id=int(task_id), project_env=_ENVS.get(project_env, project_env))
        return self._call24("GetTask", "get_task", request, "Task") or {}

    def get_data_studio_node(self, node_id: Any, project_id: int) -> dict:
        """GetNode of the new Data Studio: ``Id`` is a string, ``TaskId`` the deployed task."""
        request = self._m24().GetNodeRequest(id=str(node_id), project_id=int(project_id))
        return self._call24("GetNode", "get_node", request, "Node") or {}

    # ---- starting a run (F-DW24-2, F-DW24-3) --------------------------------------------------------

    def create_workflow_instances(
        self, *, project_id: int, task_id: int, bizdate: Any, name: str, project_env: str = "PROD",
        task_params: str | None = None, is_done=None,
    ) -> str:
        """Backfill (SupplementData) one scheduled task for one business date; returns the OperationId."""
        m = self._m24()
        day = bizdate_day(bizdate).isoformat()
        request = m.CreateWorkflowInstancesRequest(
            project_id=int(project_id), name=name, type="SupplementData", workflow_id=1,
            env_type=_ENVS.get(project_env, project_env), task_parameters=task_params,
            comment="started by Apache Airflow (airflow-provider-pai)",
            periods=m.CreateWorkflowInstancesRequestPeriods(
                biz_dates=[m.CreateWorkflowInstancesRequestPeriodsBizDates(start_biz_date=day, end_biz_date=day)]),
            default_run_properties=m.CreateWorkflowInstancesRequestDefaultRunProperties(
                mode="General", root_task_ids=[int(task_id)], parallelism=1,
                analysis=m.CreateWorkflowInstancesRequestDefaultRunPropertiesAnalysis(enabled=False, blocked=False)),
        )
        return self._call24("CreateWorkflowInstances", "create_workflow_instances", request, "OperationId",
                            is_done=is_done)

    def get_create_workflow_instances_result(self, operation_id: str) -> dict:
        request = self._m24().GetCreateWorkflowInstancesResultRequest(operation_id=operation_id)
        return self._call24("GetCreateWorkflowInstancesResult", "get_create_workflow_instances_result",
                            request, "Result") or {}

    # ---- listing (F-DW24-4, F-DW24-5) --------------------------------------------------------------

    def _all_pages(self, action: str, method: str, make, key: str, page_size: int) -> list[dict]:
        rows: list[dict] = []
        page = 1
        while True:
            info = self._call24(action, method, make(page, page_size), "PagingInfo") or {}
            batch = info.get(key) or []
            rows.extend(batch)
            if not batch or len(rows) >= int(info.get("TotalCount") or 0):
                return rows
            page += 1

    def list_workflow_instances(
        self, *, project_id: int, bizdate: Any, name: str | None = None, type: str | None = None,
        project_env: str | None = "PROD",
    ) -> list[dict]:
        """Every page; ``name`` matches fuzzily on DataWorks: compare exactly yourself (F-DW24-4)."""
        m = self._m24()

        def make(page, size):
            return m.ListWorkflowInstancesRequest(
                project_id=int(project_id), biz_date=bizdate_ms(bizdate), name=name, type=type,
                env_type=_ENVS.get(project_env, project_env) if project_env else None,
                page_number=page, page_size=size)

        return self._all_pages("ListWorkflowInstances", "list_workflow_instances", make, "WorkflowInstances", 100)

    def list_task_instances(
        self, *, project_id: int, bizdate: Any, task_id: int | None = None, workflow_instance_id: int | None = None,
        status: str | None = None, project_env: str | None = "PROD",
    ) -> list[dict]:
        m = self._m24()

        def make(page, size):
            return m.ListTaskInstancesRequest(
                project_id=int(project_id), bizdate=bizdate_ms(bizdate),
                task_id=int(task_id) if task_id is not None else None,
                workflow_instance_id=int(workflow_instance_id) if workflow_instance_id is not None else None,
                status=status, project_env=_ENVS.get(project_env, project_env) if project_env else None,
                page_number=page, page_size=size)

        return self._all_pages("ListTaskInstances", "list_task_instances", make, "TaskInstances", 500)

    # ---- one task instance (F-DW24-6, F-DW24-7, F-DW24-8) -------------------------------------------

    def get_task_instance(self, instance_id: int) -> dict:
        request = self._m24().GetTaskInstanceRequest(id=int(instance_id))
        return self._call24("GetTaskInstance", "get_task_instance", request, "TaskInstance") or {}

    async def get_task_instance_async(self, instance_id: int) -> dict:
        request = self._m24().GetTaskInstanceRequest(id=int(instance_id))
        return await self._call24_async("GetTaskInstance", "get_task_instance", request, "TaskInstance") or {}

    def get_task_instance_log(self, instance_id: int, run_number: int | None = None) -> str:
        request = self._m24().GetTaskInstanceLogRequest(id=int(instance_id), run_number=run_number)
        return self._call24("GetTaskInstanceLog", "get_task_instance_log", request, "TaskInstanceLog") or ""

    async def get_task_instance_log_async(self, instance_id: int, run_number: int | None = None) -> str:
        request = self._m24().GetTaskInstanceLogRequest(id=int(instance_id), run_number=run_number)
        return await self._call24_async("GetTaskInstanceLog", "get_task_instance_log", request, "TaskInstanceLog") or ""

    def stop_task_instances(self, instance_ids: list[int]) -> dict:
        """``{"<id>": {"Success": bool, "Message": str}}``: HTTP 200 does not mean each id stopped."""
        request = self._m24().StopTaskInstancesRequest(ids=[int(i) for i in instance_ids],
                                                       comment="stopped by Apache Airflow (task killed)")
        return self._call24("StopTaskInstances", "stop_task_instances", request, "SuccessInfo") or {}

    async def stop_task_instances_async(self, instance_ids: list[int]) -> dict:
        request = self._m24().StopTaskInstancesRequest(ids=[int(i) for i in instance_ids],
                                                       comment="stopped by Apache Airflow (task killed)")
        return await self._call24_async("StopTaskInstances", "stop_task_instances", request, "SuccessInfo") or {}

    def rerun_task_instances(self, instance_ids: list[int]) -> dict:
        request = self._m24().RerunTaskInstancesRequest(ids=[int(i) for i in instance_ids])
        return self._call24("RerunTaskInstances", "rerun_task_instances", request, "SuccessInfo") or {}
