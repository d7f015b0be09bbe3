"""DataWorksHook: DataWorks OpenAPI 2020-05-18 (one method per remote action, here), 2024-05-18
(``dataworks_v2024``) and the API-neutral calls operators use (``dataworks_runs``), all through the
one retry policy.

The 2020-05-18 actions go through the Tea OpenAPI client's generic ``call_api``, as exactly the
request the SDK's typed methods build (RPC POST, the fields in the form body; ListProjects in the
query): the SDK's models package imports 985 modules (about 0.17 s and 20,000 objects in every task
process that calls DataWorks, and the garbage collections they bring). ``tests/contracts`` checks
each request against the one the SDK builds, and the fields against its request models.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_pai.hooks.base import AlibabaCloudBaseHook
from airflow_provider_pai.hooks.dataworks_runs import DataWorksRunsMixin
from airflow_provider_pai.hooks.dataworks_v2024 import DataWorksV2024Mixin
from airflow_provider_pai.hooks.dataworks_wire import (  # noqa: F401  (re-exported: earlier home of these names)
    EXTRA,
    V2020,
    bizdate_to_wire,
    node_params_to_wire,
)
from airflow_provider_pai.hooks.errors import check_success

# Error codes and words that say a call reached the wrong DataWorks OpenAPI for the workspace: the
# emulator's stand-in code, and DataWorks' own wording for a workspace on the other Data Studio
# (unverified: DataWorks documents only "query failures or unexpected results", F-DW24-12).
_MISMATCH_MARKS = ("DataStudioVersion", "new Data Studio", "legacy Data Studio")
# The _clients key of the Tea OpenAPI client every DataWorks call goes through.
OPENAPI_KEY = "dataworks_openapi"


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

    calls_client_key = OPENAPI_KEY

    def get_client(self):
        """The 2020-05-18 SDK client (cached per hook), for calls of your own: the hook's own calls
        go through ``calls_client`` and do not import the SDK."""

        def build():
            from alibabacloud_dataworks_public20200518.client import Client

            return Client(self.tea_config("dataworks"))

        return self._cached_client("dataworks", build)

    def calls_client(self):
        """The Tea OpenAPI client without a product SDK (no models imported), for ``call_api``."""

        def build():
            from alibabacloud_tea_openapi.client import Client

            return Client(self.tea_config("dataworks"))

        return self._cached_client(OPENAPI_KEY, build)

    @staticmethod
    def _openapi_args(action: str, fields: dict[str, Any], version: str, method: str, in_query: bool):
        """The ``call_api`` arguments (``Params``, ``OpenApiRequest``, runtime) the SDK's typed method
        builds for ``action``."""
        from alibabacloud_tea_openapi import utils_models
        from alibabacloud_tea_openapi.utils import Utils
        from darabonba.runtime import RuntimeOptions

        params = utils_models.Params(action=action, version=version, protocol="HTTPS", pathname="/", method=method,
                                     auth_type="AK", style="RPC", req_body_type="formData", body_type="json")
        sent = {k: v for k, v in fields.items() if v is not None}  # the SDK leaves unset fields out
        request = (utils_models.OpenApiRequest(query=Utils.query(sent)) if in_query
                   else utils_models.OpenApiRequest(body=Utils.parse_to_map(sent)))
        return params, request, RuntimeOptions()

    @staticmethod
    def _answer_body(action: str, answer: Any) -> dict:
        """The answer's body (``Success: false`` raises)."""
        return check_success(action, dict((answer or {}).get("body") or {}))

    def openapi(self, action: str, fields: dict[str, Any], *, version: str = V2020, method: str = "POST",
                in_query: bool = False) -> dict:
        """Send one DataWorks action (wire field names) once; its answer's body (``Success: false`` raises)."""
        args = self._openapi_args(action, fields, version, method, in_query)
        return self._answer_body(action, self.calls_client().call_api(*args))

    async def openapi_async(self, action: str, fields: dict[str, Any], *, version: str = V2020, method: str = "POST",
                            in_query: bool = False) -> dict:
        """``openapi`` for triggers."""
        args = self._openapi_args(action, fields, version, method, in_query)
        return self._answer_body(action, await self.calls_client().call_api_async(*args))

    def _call20(self, action: str, fields: dict[str, Any], key: str, *, is_done=None, retry: bool = True,
                in_query: bool = False) -> Any:
        """One 2020-05-18 action through the retry policy; the answer's ``key``."""
        return self.call(action, lambda: self.openapi(action, fields, in_query=in_query).get(key),
                         is_done=is_done, retry=retry)

    async def _call20_async(self, action: str, fields: dict[str, Any], key: str) -> Any:
        await self.ready_async()

        async def run():
            return (await self.openapi_async(action, fields)).get(key)

        return await self.call_async(action, run)

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
        fields = {
            "Name": name, "RootNodeId": int(node_id), "IncludeNodeIds": str(node_id),
            "StartBizDate": day, "EndBizDate": day, "Parallelism": False, "ProjectEnv": project_env,
            "NodeParams": node_params_to_wire(node_params, node_id),
            "StartFutureInstanceImmediately": start_future_instance_immediately,
        }
        data = self._call20("RunCycleDagNodes", fields, "Data", is_done=is_done)
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
        fields = {
            "ProjectName": project_name, "FlowName": flow_name, "BizDate": bizdate_to_wire(bizdate),
            "ProjectEnv": project_env, "IncludeNodeIds": str(node_id) if node_id is not None else None,
            "NodeParameters": node_params_to_wire(node_params, node_id),
            "ProjectId": int(project_id) if project_id is not None else None,
        }
        return int(self._call20("RunManualDagNodes", fields, "DagId", is_done=is_done))

    # ---- reading ------------------------------------------------------------------------------

    def get_node(self, node_id: int, project_env: str = "PROD", *, retry: bool = True) -> dict:
        fields = {"NodeId": int(node_id), "ProjectEnv": project_env}
        return self._call20("GetNode", fields, "Data", retry=retry) or {}

    def get_dag(self, dag_id: int, project_env: str = "PROD") -> dict:
        return self._call20("GetDag", {"DagId": int(dag_id), "ProjectEnv": project_env}, "Data") or {}

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
        instances: list[dict] = []
        page = 1
        while True:
            fields = {
                "ProjectId": int(project_id), "ProjectEnv": project_env,
                "DagId": int(dag_id) if dag_id is not None else None,
                "NodeId": int(node_id) if node_id is not None else None,
                "Bizdate": bizdate_to_wire(bizdate) if bizdate is not None else None,
                "Status": status, "PageNumber": page, "PageSize": page_size,
            }
            data = self._call20("ListInstances", fields, "Data") or {}
            batch = data.get("Instances") or []
            instances.extend(batch)
            total = int(data.get("TotalCount") or 0)
            if not batch or len(instances) >= total:
                return instances
            page += 1

    def get_instance(self, instance_id: int, project_env: str = "PROD", *, retry: bool = True) -> dict:
        fields = {"InstanceId": int(instance_id), "ProjectEnv": project_env}
        return self._call20("GetInstance", fields, "Data", retry=retry) or {}

    async def get_instance_async(self, instance_id: int, project_env: str = "PROD") -> dict:
        fields = {"InstanceId": int(instance_id), "ProjectEnv": project_env}
        return await self._call20_async("GetInstance", fields, "Data") or {}

    def get_instance_log(self, instance_id: int, project_env: str = "PROD") -> str:
        fields = {"InstanceId": int(instance_id), "ProjectEnv": project_env}
        return self._call20("GetInstanceLog", fields, "Data") or ""

    async def get_instance_log_async(self, instance_id: int, project_env: str = "PROD") -> str:
        fields = {"InstanceId": int(instance_id), "ProjectEnv": project_env}
        return await self._call20_async("GetInstanceLog", fields, "Data") or ""

    def list_instance_history(self, instance_id: int, project_env: str = "PROD") -> list[dict]:
        fields = {"InstanceId": int(instance_id), "ProjectEnv": project_env}
        return self._call20("ListInstanceHistory", fields, "Instances") or []

    # ---- changing instances -------------------------------------------------------------------

    def stop_instance(self, instance_id: int, project_env: str = "PROD") -> bool:
        """Asynchronous on DataWorks: the instance ends as FAILURE a little later."""
        fields = {"InstanceId": int(instance_id), "ProjectEnv": project_env}
        return bool(self._call20("StopInstance", fields, "Data"))

    async def stop_instance_async(self, instance_id: int, project_env: str = "PROD") -> bool:
        fields = {"InstanceId": int(instance_id), "ProjectEnv": project_env}
        return bool(await self._call20_async("StopInstance", fields, "Data"))

    def restart_instance(self, instance_id: int, project_env: str = "PROD") -> bool:
        fields = {"InstanceId": int(instance_id), "ProjectEnv": project_env}
        return bool(self._call20("RestartInstance", fields, "Data"))

    def test_connection(self) -> tuple[bool, str]:
        """ListProjects with PageSize=1: cheap, read-only, needs no project id."""
        try:
            page = self._call20("ListProjects", {"PageNumber": 1, "PageSize": 1}, "PageResult", in_query=True) or {}
            host, protocol = self.endpoint("dataworks")
            return True, f"DataWorks reachable at {protocol}://{host} ({page.get('TotalCount')} project(s) visible)"
        except Exception as exc:
            return False, str(exc)
