"""DataWorks wire formats shared by both OpenAPI versions: pure functions, no SDK, no remote call.

``hooks/dataworks.py`` (2020-05-18), ``hooks/dataworks_v2024.py`` (2024-05-18) and
``hooks/dataworks_runs.py`` (one run object per API) import from here, so no hook module imports
another's helpers (no import cycle). Facts and sources: docs/cloud-fidelity.md (rows F-DW-n, F-DW24-n).
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any, overload

V2020 = "2020-05-18"
V2024 = "2024-05-18"
API_VERSIONS = (V2020, V2024, "auto")
EXTRA = "dataworks_api_version"  # the connection extra that picks the API
CST = datetime.timezone(datetime.timedelta(hours=8))  # business dates are days in UTC+8 (F-DW24-5)
ENVS_2024 = {"PROD": "Prod", "DEV": "Dev"}
# 2024 WorkflowInstanceType -> the 2020 DagType the operators know (F-DW24-6); looked up with whatever
# the answer holds (None too), hence Any keys.
_DAG_TYPES: dict[Any, str] = {"SupplementData": "SUPPLY_DATA", "ManualWorkflow": "MANUAL", "Normal": "DAILY",
              "SmokeTest": "SMOKE_TEST", "Manual": "MANUAL"}
_TASK_TYPE_CODES = {"NORMAL": 0, "MANUAL": 1, "PAUSE": 2, "SKIP": 3, "SKIP_UNCHOOSE": 4}
# RunPolicy of a 2024 run: any time of any day, and started at once even if its run time is ahead
# (``Immediately`` defaults to false; Type/StartTime/EndTime are required once a policy is sent, F-DW24-17).
RUN_NOW_POLICY = {"type": "Daily", "start_time": "00:00:00", "end_time": "23:59:59", "immediately": True}


def env_2024(project_env: Any) -> Any:
    """``PROD`` -> ``Prod``: 2024-05-18 spells the environments in CamelCase (F-DW24-9)."""
    return ENVS_2024.get(project_env, project_env)


def bizdate_to_wire(bizdate: Any) -> str:
    """``yyyy-MM-dd 00:00:00`` from a date, ``yyyymmdd``, ``yyyy-mm-dd`` or the wire form itself."""
    return bizdate_day(bizdate).strftime("%Y-%m-%d 00:00:00")


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


def node_params_to_wire(node_params: Any, node_id: Any = None) -> str | None:
    """DataWorks' ``{"<nodeId>": "k=v k2=v2"}`` JSON from a str (sent as is) or a dict.

    A dict whose keys are all node ids is the wire mapping (values may be dicts); any other dict
    holds the parameters of ``node_id``.
    """
    if node_params is None or isinstance(node_params, str):
        return node_params

    def flat(value: Any) -> str:
        return " ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else str(value)

    if node_params and all(str(k).isdigit() for k in node_params):
        return json.dumps({str(k): flat(v) for k, v in node_params.items()})
    if node_id is None:
        raise ValueError("node_params as {name: value} needs node_id: pass {\"<node id>\": {...}} instead")
    return json.dumps({str(node_id): flat(node_params)})


@overload
def snake_upper(value: str) -> str: ...
@overload
def snake_upper(value: Any) -> str | None: ...
def snake_upper(value: Any) -> str | None:
    """``WaitResource`` -> ``WAIT_RESOURCE``: 2024 statuses are the 2020 ones in CamelCase (F-DW24-6)."""
    if value is None:
        return None
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(value)).upper()


def spec_command(spec: Any) -> str | None:
    """The node type in a FlowSpec (``script.runtime.command``, F-DW24-10), None when absent."""
    try:
        nodes = json.loads(spec)["spec"]["nodes"]
        return nodes[0]["script"]["runtime"]["command"]
    except (TypeError, ValueError, KeyError, IndexError):
        return None


def task_instance_as_v2020(ti: dict) -> dict:
    """A 2024 task instance under 2020 ``GetInstance`` names, plus its own ids (F-DW24-6).

    Status ``Success`` -> ``SUCCESS`` and so on; ``TriggerRecurrence`` (Pause, Skip, ...) becomes the
    2020 ``TaskType`` (``PAUSE(2)``, ``SKIP(3)``) so a frozen or skipped run is reported the same way;
    the calendar kinds keep their own names (``SKIP_CALENDAR``, ``PAUSE_CALENDAR``, F-DW24-18).
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
