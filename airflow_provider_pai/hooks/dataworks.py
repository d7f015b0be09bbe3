"""DataWorksHook: DataWorks OpenAPI 2020-05-18 (one method per remote action, here), 2024-05-18
(``dataworks_v2024``) and the API-neutral calls operators use (``dataworks_runs``), all through the
one retry policy."""

from __future__ import annotations

from functools import partial
from typing import Any

from airflow_provider_pai.hooks.base import AlibabaCloudBaseHook
from airflow_provider_pai.hooks.dataworks_runs import DataWorksRunsMixin
from airflow_provider_pai.hooks.dataworks_v2024 import DataWorksV2024Mixin
from airflow_provider_pai.hooks.dataworks_wire import (  # noqa: F401  (re-exported: earlier home of these names)
    EXTRA,
    bizdate_to_wire,
    node_params_to_wire,
)
from airflow_provider_pai.hooks.errors import check_success

# Error codes and words that say a call reached the wrong DataWorks OpenAPI for the workspace: the
# emulator's stand-in code, and DataWorks' own wording for a workspace on the other Data Studio
# (unverified: DataWorks documents only "query failures or unexpected results", F-DW24-12).
_MISMATCH_MARKS = ("DataStudioVersion", "new Data Studio", "legacy Data Studio")


class DataWorksHook(DataWorksRunsMixin, DataWorksV2024Mixin, AlibabaCloudBaseHook):
    """DataWorks: start node runs, follow instances, read logs, on either OpenAPI version.

    Legacy Data Studio workspaces speak dataworks-public 2020-05-18 (the methods below), new Data
    Studio workspaces 2024-05-18 (``DataWorksV2024Mixin``). The connection extra
    ``dataworks_api_version`` (``2020-05-18``, ``2024-05-18``, ``auto``) picks one; the API-neutral
    methods (``describe_node``, ``start_run``, ``find_run_instance``, ``find_run_by_name``,
    ``get_run_instance``, ``get_run_log``, ``stop_run_instance``, ``successful_runs``) follow it.
    """

    service = "dataworks"
    hook_name = "Alibaba Cloud PAI: DataWorks"

    def get_client(self):
        """The SDK client (cached per hook)."""

        def build():
            from alibabacloud_dataworks_public20200518.client import Client

            return Client(self.tea_config("dataworks"))

        return self._cached_client("dataworks", build)

    @staticmethod
    def _models():
        from alibabacloud_dataworks_public20200518 import models

        return models

    def _to_error(self, action: str, exc: BaseException):
        """The base classification, plus the connection extra to change when the API did not fit."""
        found = super()._to_error(action, exc)
        if found is None:
            return None
        err, retryable, retry_after = found
        text = f"{err.code} {err.message}"
        if any(mark in text for mark in _MISMATCH_MARKS) and EXTRA not in (err.hint or ""):
            setting = str(self.extras.get(EXTRA) or "auto")
            err.hint = ((err.hint + " ") if err.hint else "") + (
                f"The workspace needs the other DataWorks OpenAPI: set the connection '{self.pai_conn_id}' extra "
                f"{EXTRA} (now {setting!r}) to 2024-05-18 for a workspace on the new Data Studio, 2020-05-18 for "
                "one on the legacy Data Studio, or auto to detect it.")
        return err, retryable, retry_after

    def _data(self, action: str, response) -> Any:
        body = check_success(action, response.body)
        return body.to_map().get("Data")

    # ---- starting runs ------------------------------------------------------------------------

    def run_cycle_dag_nodes(
        self,
        *,
        node_id: int,
        bizdate: Any,
        name: str,
        project_env: str = "PROD",
        node_params: Any = None,
        start_future_instance_immediately: bool = True,
        is_done=None,
    ) -> list[int]:
        """Backfill one auto-triggered node for one business date; returns the DAG ids."""
        day = bizdate_to_wire(bizdate)
        request = self._models().RunCycleDagNodesRequest(
            name=name,
            root_node_id=int(node_id),
            include_node_ids=str(node_id),
            start_biz_date=day,
            end_biz_date=day,
            parallelism=False,
            project_env=project_env,
            node_params=node_params_to_wire(node_params, node_id),
            start_future_instance_immediately=start_future_instance_immediately,
        )
        action = "RunCycleDagNodes"
        data = self.call(action, lambda: self._data(action, self.get_client().run_cycle_dag_nodes(request)),
                         is_done=is_done)
        return [int(d) for d in (data or [])]

    def run_manual_dag_nodes(
        self,
        *,
        project_name: str,
        flow_name: str,
        bizdate: Any,
        project_env: str = "PROD",
        node_id: int | None = None,
        node_params: Any = None,
        project_id: int | None = None,
        is_done=None,
    ) -> int:
        """Run a manually triggered workflow (optionally one node of it); returns the DAG id."""
        request = self._models().RunManualDagNodesRequest(
            project_name=project_name,
            flow_name=flow_name,
            biz_date=bizdate_to_wire(bizdate),
            project_env=project_env,
            include_node_ids=str(node_id) if node_id is not None else None,
            node_parameters=node_params_to_wire(node_params, node_id),
            project_id=int(project_id) if project_id is not None else None,
        )
        action = "RunManualDagNodes"

        def run():
            body = check_success(action, self.get_client().run_manual_dag_nodes(request).body)
            return body.to_map().get("DagId")

        dag_id = self.call(action, run, is_done=is_done)
        return int(dag_id)

    # ---- reading ------------------------------------------------------------------------------

    def get_node(self, node_id: int, project_env: str = "PROD", *, retry: bool = True) -> dict:
        request = self._models().GetNodeRequest(node_id=int(node_id), project_env=project_env)
        return self.call("GetNode", lambda: self._data("GetNode", self.get_client().get_node(request)),
                         retry=retry) or {}

    def get_dag(self, dag_id: int, project_env: str = "PROD") -> dict:
        request = self._models().GetDagRequest(dag_id=int(dag_id), project_env=project_env)
        return self.call("GetDag", lambda: self._data("GetDag", self.get_client().get_dag(request))) or {}

    def list_instances(
        self,
        *,
        project_id: int,
        project_env: str = "PROD",
        dag_id: int | None = None,
        node_id: int | None = None,
        bizdate: Any = None,
        status: str | None = None,
        page_size: int = 100,
    ) -> list[dict]:
        """Every page of ListInstances."""
        models = self._models()
        instances: list[dict] = []
        page = 1
        while True:
            request = models.ListInstancesRequest(
                project_id=int(project_id),
                project_env=project_env,
                dag_id=int(dag_id) if dag_id is not None else None,
                node_id=int(node_id) if node_id is not None else None,
                bizdate=bizdate_to_wire(bizdate) if bizdate is not None else None,
                status=status,
                page_number=page,
                page_size=page_size,
            )
            data = self.call("ListInstances",
                             # partial binds this page's request (B023: a closure would see the loop's last)
                             partial(lambda r: self._data("ListInstances", self.get_client().list_instances(r)),
                                     request)) or {}
            batch = data.get("Instances") or []
            instances.extend(batch)
            total = int(data.get("TotalCount") or 0)
            if not batch or len(instances) >= total:
                return instances
            page += 1

    def get_instance(self, instance_id: int, project_env: str = "PROD", *, retry: bool = True) -> dict:
        request = self._models().GetInstanceRequest(instance_id=int(instance_id), project_env=project_env)
        return self.call("GetInstance", lambda: self._data("GetInstance", self.get_client().get_instance(request)),
                         retry=retry) or {}

    async def get_instance_async(self, instance_id: int, project_env: str = "PROD") -> dict:
        await self.ready_async()
        request = self._models().GetInstanceRequest(instance_id=int(instance_id), project_env=project_env)

        async def run():
            return self._data("GetInstance", await self.get_client().get_instance_async(request))

        return await self.call_async("GetInstance", run) or {}

    def get_instance_log(self, instance_id: int, project_env: str = "PROD") -> str:
        request = self._models().GetInstanceLogRequest(instance_id=int(instance_id), project_env=project_env)
        action = "GetInstanceLog"
        return self.call(action, lambda: self._data(action, self.get_client().get_instance_log(request))) or ""

    async def get_instance_log_async(self, instance_id: int, project_env: str = "PROD") -> str:
        await self.ready_async()
        request = self._models().GetInstanceLogRequest(instance_id=int(instance_id), project_env=project_env)

        async def run():
            return self._data("GetInstanceLog", await self.get_client().get_instance_log_async(request))

        return await self.call_async("GetInstanceLog", run) or ""

    def list_instance_history(self, instance_id: int, project_env: str = "PROD") -> list[dict]:
        request = self._models().ListInstanceHistoryRequest(instance_id=int(instance_id), project_env=project_env)
        action = "ListInstanceHistory"

        def run():
            body = check_success(action, self.get_client().list_instance_history(request).body)
            return body.to_map().get("Instances") or []

        return self.call(action, run)

    # ---- changing instances -------------------------------------------------------------------

    def stop_instance(self, instance_id: int, project_env: str = "PROD") -> bool:
        """Asynchronous on DataWorks: the instance ends as FAILURE a little later."""
        request = self._models().StopInstanceRequest(instance_id=int(instance_id), project_env=project_env)
        return bool(self.call("StopInstance", lambda: self._data("StopInstance", self.get_client().stop_instance(request))))

    async def stop_instance_async(self, instance_id: int, project_env: str = "PROD") -> bool:
        await self.ready_async()
        request = self._models().StopInstanceRequest(instance_id=int(instance_id), project_env=project_env)

        async def run():
            return self._data("StopInstance", await self.get_client().stop_instance_async(request))

        return bool(await self.call_async("StopInstance", run))

    def restart_instance(self, instance_id: int, project_env: str = "PROD") -> bool:
        request = self._models().RestartInstanceRequest(instance_id=int(instance_id), project_env=project_env)
        action = "RestartInstance"
        return bool(self.call(action, lambda: self._data(action, self.get_client().restart_instance(request))))

    def test_connection(self) -> tuple[bool, str]:
        """ListProjects with PageSize=1: cheap, read-only, needs no project id."""
        try:
            request = self._models().ListProjectsRequest(page_number=1, page_size=1)
            action = "ListProjects"

            def run():
                body = check_success(action, self.get_client().list_projects(request).body)
                return body.to_map().get("PageResult") or {}

            total = self.call(action, run).get("TotalCount")
            host, protocol = self.endpoint("dataworks")
            return True, f"DataWorks reachable at {protocol}://{host} ({total} project(s) visible)"
        except Exception as exc:
            return False, str(exc)
