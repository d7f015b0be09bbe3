"""DataWorks OpenAPI 2024-05-18 (workspaces on the new Data Studio): one method per remote action.

Mixed into ``DataWorksHook``; every call goes through the one retry policy (``self.call``). The
answers are the SDK models' ``to_map()``; ``task_instance_as_v2020`` turns a task instance into the
shape the operators know from 2020-05-18 ``GetInstance``. Facts and sources: docs/cloud-fidelity.md,
section "DataWorks OpenAPI 2024-05-18" (rows F-DW24-n).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from airflow_provider_pai.hooks.dataworks_wire import (  # noqa: F401  (re-exported: earlier home of these names)
    CST,
    RUN_NOW_POLICY,
    V2024,
    bizdate_day,
    bizdate_ms,
    env_2024,
    snake_upper,
    task_instance_as_v2020,
)

if TYPE_CHECKING:
    import threading
    from collections.abc import Awaitable, Callable

_CLIENT_KEY = "dataworks_v2024"


class DataWorksV2024Mixin:
    """The 2024-05-18 actions the provider uses. Needs AlibabaCloudBaseHook (call, tea_config, _clients)."""

    if TYPE_CHECKING:  # from AlibabaCloudBaseHook, which DataWorksHook also derives from
        _clients: dict[str, Any]
        _client_lock: threading.Lock

        def tea_config(self, service: str) -> Any: ...

        def _cached_client(self, key: str, factory: Callable[[], Any]) -> Any: ...

        def openapi(self, action: str, fields: dict[str, Any], *, version: str = ..., method: str = ...,
                    in_query: bool = ...) -> dict: ...

        def call(self, action: str, fn: Callable[[], Any], *, is_done: Callable[[], Any] | None = None,
                 retry: bool = True) -> Any: ...

        async def call_async(self, action: str, coro_fn: Callable[[], Awaitable[Any]], *,
                             is_done: Callable[[], Any] | None = None, retry: bool = True) -> Any: ...

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

    def _call24(self, action: str, method: str, request, key: str, *, is_done=None, retry: bool = True) -> Any:
        def run():
            return getattr(self.get_client_v2024(), method)(request).body.to_map().get(key)

        return self.call(action, run, is_done=is_done, retry=retry)

    async def _call24_async(self, action: str, method: str, request, key: str) -> Any:
        await self.ready_v2024_async()

        async def run():
            response = await getattr(self.get_client_v2024(), f"{method}_async")(request)
            return response.body.to_map().get(key)

        return await self.call_async(action, run)

    # ---- tasks and nodes (F-DW24-9, F-DW24-10) -----------------------------------------------------

    def get_task(self, task_id: int, project_env: str = "PROD", *, retry: bool = True) -> dict:
        request = self._m24().GetTaskRequest(id=int(task_id), project_env=env_2024(project_env))
        return self._call24("GetTask", "get_task", request, "Task", retry=retry) or {}

    def get_data_studio_node(self, node_id: Any, project_id: int, *, retry: bool = True) -> dict:
        """GetNode of the new Data Studio: ``Id`` is a string, ``TaskId`` the deployed task (empty or 0
        while the node is not deployed, F-DW24-10).

        Sent with the Tea OpenAPI client's generic ``call_api``, as exactly the request the 2024-05-18
        SDK's ``get_node`` builds (RPC GET, query ``Id`` and ``ProjectId``, the same signature; ``openapi``): it is
        ``auto``'s first probe, and importing that SDK (its models, about 0.2 s) only to hear "not
        here" from a legacy workspace cost every DataWorks task process that much.
        """
        fields = {"Id": str(node_id), "ProjectId": int(project_id)}
        return self.call("GetNode", lambda: self.openapi("GetNode", fields, version=V2024, method="GET",
                                                         in_query=True).get("Node"), retry=retry) or {}

    # ---- starting a run (F-DW24-2, F-DW24-3) --------------------------------------------------------

    def create_workflow_instances(
        self, *, project_id: int, task_id: int, bizdate: Any, name: str, project_env: str = "PROD",
        task_params: str | None = None, is_done=None, workflow_id: int | None = None,
    ) -> str:
        """Start one run of one task for one business date; returns the OperationId.

        ``workflow_id`` None: a backfill (``SupplementData``, WorkflowId 1) of a scheduled task; else
        a run of that manually triggered workflow from the task (``ManualWorkflow``, F-DW24-19).
        Either way ``RunPolicy.Immediately`` is sent: without it a run whose time is ahead waits.
        """
        m = self._m24()
        day = bizdate_day(bizdate).isoformat()
        manual = workflow_id is not None
        props = m.CreateWorkflowInstancesRequestDefaultRunProperties(
            root_task_ids=[int(task_id)],
            run_policy=m.CreateWorkflowInstancesRequestDefaultRunPropertiesRunPolicy(**RUN_NOW_POLICY))
        if not manual:  # required for SupplementData only
            props.mode, props.parallelism = "General", 1
            props.analysis = m.CreateWorkflowInstancesRequestDefaultRunPropertiesAnalysis(enabled=False, blocked=False)
        request = m.CreateWorkflowInstancesRequest(
            project_id=int(project_id), name=name, type="ManualWorkflow" if manual else "SupplementData",
            workflow_id=int(workflow_id) if workflow_id is not None else 1,
            env_type=env_2024(project_env), task_parameters=task_params,
            comment="started by Apache Airflow (airflow-provider-pai)",
            periods=m.CreateWorkflowInstancesRequestPeriods(
                biz_dates=[m.CreateWorkflowInstancesRequestPeriodsBizDates(start_biz_date=day, end_biz_date=day)]),
            default_run_properties=props,
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
                env_type=env_2024(project_env) if project_env else None,
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
                status=status, project_env=env_2024(project_env) if project_env else None,
                page_number=page, page_size=size)

        return self._all_pages("ListTaskInstances", "list_task_instances", make, "TaskInstances", 500)

    # ---- one task instance (F-DW24-6, F-DW24-7, F-DW24-8) -------------------------------------------

    def get_task_instance(self, instance_id: int, *, retry: bool = True) -> dict:
        request = self._m24().GetTaskInstanceRequest(id=int(instance_id))
        return self._call24("GetTaskInstance", "get_task_instance", request, "TaskInstance", retry=retry) or {}

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
