"""Emulated DataWorks OpenAPI 2024-05-18 (new Data Studio): the same runs as 2020-05-18, seen as tasks.

One state model backs both versions (``ctx.state["dataworks"]``, see ``dataworks``): a 2024
workflow instance is a 2020 DAG, a task instance is a 2020 instance, ``RunNumber`` counts its runs.
A scenario project with ``data_studio: new`` is a workspace on the new Data Studio: 2020-05-18
calls about it are refused (``legacy_refusal``, F-DW24-12); the 2024 Operation Center actions serve
both kinds of workspace, the 2024 Data Studio ``GetNode`` only new ones (F-DW24-13).
Row ids (F-DW24-n) are in docs/cloud-fidelity.md, section "DataWorks OpenAPI 2024-05-18".
"""

from __future__ import annotations

import json
import re
import uuid

from aiohttp import web

from . import dataworks_model as m
from . import dataworks_runs as runs
from .common import Ctx, json_response, new_request_id
from .dataworks_params import DwError, boolean, integer, json_param, paging, project, required

VERSION = "2024-05-18"
# Envs: 2024 spells them Prod/Dev (F-DW24-9), the shared state PROD/DEV.
_ENVS = {"Prod": "PROD", "Dev": "DEV"}
# 2020 DAG types -> 2024 WorkflowInstanceType (F-DW24-6).
_WF_TYPES = {"SUPPLY_DATA": "SupplementData", "MANUAL": "ManualWorkflow", "DAILY": "Normal",
             "SMOKE_TEST": "SmokeTest", "MANUAL_TASK": "Manual"}
_REFUSAL_CODE = "Invalid.Tenant.DataStudioVersionMismatch"  # emulator stand-in (F-DW24-12)


def camel(status: str) -> str:
    """``WAIT_RESOURCE`` -> ``WaitResource`` (the 2024 spelling of the same status, F-DW24-6)."""
    return "".join(part.capitalize() for part in status.split("_"))


def _reply(**payload) -> web.Response:
    return json_response({"RequestId": new_request_id(), **payload})


def _new_studio(state: dict, pid: int) -> bool:
    return state["projects"].get(str(pid), {}).get("data_studio") == "new"


def task_id_of(n: dict) -> int:
    """The scheduled task of a deployed node: the scenario's ``task_id``, else the node id (F-DW24-10)."""
    return int(n.get("task_id", n["node_id"]))


def _task(state: dict, tid: int) -> dict:
    for n in state["nodes"].values():
        if task_id_of(n) == tid and n.get("deployed", True):  # a node never deployed has no task
            return n
    raise DwError(400, "Invalid.Task.NotExists", f"The task {tid} does not exist.")  # stand-in (F-DW24-14)


def _env(params: dict, name: str) -> str:
    value = params.get(name) or "Prod"
    if value not in _ENVS:
        raise DwError(400, "InvalidParameter", f"The parameter {name} must be Prod or Dev, got {value!r}.")
    return _ENVS[value]


def _page(rows: list, params: dict, most: int, key: str) -> web.Response:
    number, size = paging(params, most=most)
    return _reply(PagingInfo={"PageNumber": number, "PageSize": size, "TotalCount": len(rows),
                              key: rows[(number - 1) * size: number * size]})


# ---- views ------------------------------------------------------------------------------------


def task_view(n: dict, env: str) -> dict:
    """GetTask ``Task`` (F-DW24-9): the node as the scheduler sees it once deployed."""
    sched = n.get("task_type") or n.get("scheduler_type", "NORMAL")
    return {
        "Id": task_id_of(n), "Name": n["node_name"], "Type": n["program_type"], "ProjectId": n["project_id"],
        "EnvType": camel(env), "ProjectEnv": camel(env), "WorkflowId": int(n.get("workflow_id", 1)),
        "Owner": n.get("owner", ""), "Description": n.get("description", ""), "Priority": int(n.get("priority", 1)),
        "RerunMode": "AllAllowed", "RerunTimes": 0, "RerunInterval": 0, "Timeout": 0, "InstanceMode": "T+1",
        "Trigger": {"Type": "Manual" if sched == "MANUAL" else "Scheduler", "Cron": n.get("cron_express", ""),
                    "Recurrence": camel(sched)},
        "Script": {"Content": "", "Parameters": n.get("param_values", "")},
        "RuntimeResource": {"ResourceGroupId": n.get("res_group", "default")},
    }


def node_view(n: dict) -> dict:
    """GetNode ``Node`` (F-DW24-10): Id is a string; the type lives in the FlowSpec ``Spec``."""
    spec = {"version": "1.1.0", "kind": "CycleWorkflow", "spec": {"nodes": [{
        "id": str(n["node_id"]), "name": n["node_name"],
        "script": {"runtime": {"command": n["program_type"]}}}]}}
    return {"Id": str(n["node_id"]), "Name": n["node_name"], "ProjectId": n["project_id"],
            "Owner": n.get("owner", ""), "TaskId": task_id_of(n) if n.get("deployed", True) else None,
            "Spec": json.dumps(spec),
            "CreateTime": 0, "ModifyTime": 0}


def _wf_type(dag: dict) -> str:
    return dag.get("type_v2024") or _WF_TYPES.get(dag["type"], dag["type"])


def task_instance_view(inst: dict, n: dict, dag: dict, now: int, *, detail: bool = True) -> dict:
    """GetTaskInstance ``TaskInstance`` / a ListTaskInstances entry (F-DW24-6) for the latest run."""
    run = inst["runs"][-1]
    status, t = m.status_at(run, now)
    view = {
        "Id": inst["instance_id"], "TaskId": task_id_of(n), "TaskName": n["node_name"], "TaskType": n["program_type"],
        "ProjectId": n["project_id"], "ProjectEnv": camel(inst["project_env"]), "Status": camel(status),
        "Bizdate": inst["bizdate_ms"], "TriggerTime": inst["cyc_ms"], "CreateTime": inst["create_ms"],
        "ModifyTime": max([inst["create_ms"]] + [v for v in t.values() if v is not None]),
        "WaitingTriggerTime": t["BeginWaitTimeTime"], "WaitingResourceTime": t["BeginWaitResTime"],
        "StartedTime": t["BeginRunningTime"], "FinishedTime": t["FinishTime"],
        "WorkflowId": int(n.get("workflow_id", 1)), "WorkflowName": dag["name"],
        "WorkflowInstanceId": dag["dag_id"], "WorkflowInstanceType": _wf_type(dag),
        "UnifiedWorkflowInstanceId": dag["dag_id"], "RunNumber": len(inst["runs"]), "PeriodNumber": 1,
        "Priority": int(n.get("priority", 1)), "RerunMode": "AllAllowed", "Timeout": 0, "BaselineId": 0,
        "TriggerType": "Scheduler", "TriggerRecurrence": camel(run["scheduler_type"]),
        "Owner": n.get("owner", ""), "CreateUser": n.get("owner", ""), "ModifyUser": n.get("owner", ""),
        "Runtime": {"Gateway": "emulator", "ProcessId": f"T3_{inst['instance_id']}_{len(inst['runs'])}"},
        "RuntimeResource": {"ResourceGroupId": n.get("res_group", "default")},
    }
    if detail:
        view["Script"] = {"Content": "", "Parameters": inst.get("param_values", "")}
    else:
        view["ScriptParameters"] = inst.get("param_values", "")
    return view


def workflow_instance_view(dag: dict, state: dict, now: int) -> dict:
    """GetWorkflowInstance / ListWorkflowInstances entry: the 2020 DAG under its 2024 names."""
    insts = [state["instances"][str(i)] for i in dag["instance_ids"]]
    timelines = [(m.status_at(i["runs"][-1], now)[0], m.timeline(i["runs"][-1])) for i in insts]
    statuses = [s for s, _ in timelines]
    if not statuses or all(s == "NOT_RUN" for s in statuses):
        status = "NOT_RUN"
    elif any(s not in m.TERMINAL for s in statuses):
        status = "RUNNING"
    else:
        status = "FAILURE" if "FAILURE" in statuses else "SUCCESS"
    return {
        "Id": dag["dag_id"], "Name": dag["name"], "Type": _wf_type(dag), "Status": camel(status),
        "BizDate": dag["bizdate_ms"], "ProjectId": dag["project_id"], "EnvType": camel(dag["project_env"]),
        "WorkflowId": 1, "WorkflowParameters": "", "WorkflowTaskInstanceId": dag["instance_ids"][0] if insts else None,
        "UnifiedWorkflowInstanceId": dag["dag_id"], "CreateTime": dag["create_ms"], "ModifyTime": dag["create_ms"],
        "StartedTime": min((tl["wait_time"] for _, tl in timelines if tl["wait_time"]), default=None),
        "FinishedTime": max(tl["end"] for _, tl in timelines) if status in m.TERMINAL else None,
        "Owner": "", "CreateUser": "", "ModifyUser": "", "Tags": [],
    }


# ---- actions ----------------------------------------------------------------------------------


def _get_task(params, ctx):
    n = _task(ctx.state["dataworks"], integer(params, "Id"))
    return _reply(Task=task_view(n, _env(params, "ProjectEnv")))


def _get_node(params, ctx):
    state = ctx.state["dataworks"]
    node_id, pid = required(params, "Id"), integer(params, "ProjectId")
    n = state["nodes"].get(node_id.strip())
    # Data Studio (new) nodes only: a legacy workspace has none (F-DW24-13, stand-in code F-DW24-14).
    if n is None or n["project_id"] != pid or not _new_studio(state, pid):
        raise DwError(400, "Invalid.Node.NotExists", f"The node {node_id} does not exist in Data Studio of project {pid}.")
    return _reply(Node=node_view(n))


def _bizdates(periods: dict) -> list[int]:
    ranges = periods.get("BizDates") or []
    if not ranges or len(ranges) > 7:
        raise DwError(400, "InvalidParameter", "Periods.BizDates must hold 1 to 7 date ranges.")
    days: list[int] = []
    for r in ranges:
        try:
            start, end = m.parse_bizdate(r["StartBizDate"]), m.parse_bizdate(r["EndBizDate"])
        except (KeyError, TypeError, ValueError):
            raise DwError(400, "InvalidParameter", "Periods.BizDates[] needs StartBizDate and EndBizDate as yyyy-mm-dd.") from None
        days.extend(range(start, end + 1, m.DAY_MS))
    return sorted(set(days))


def _run_now(props: dict) -> bool:
    """``DefaultRunProperties.RunPolicy``: Type, StartTime and EndTime required once a policy is given;
    ``Immediately`` (default false) starts a run whose time is ahead at once (F-DW24-17). The time
    window itself is not emulated: without ``Immediately`` a future run waits for its run time."""
    policy = props.get("RunPolicy")
    if policy in (None, {}):
        return False
    if not isinstance(policy, dict):
        raise DwError(400, "InvalidParameter", "DefaultRunProperties.RunPolicy must be an object.")
    for field in ("Type", "StartTime", "EndTime"):
        if not policy.get(field):
            raise DwError(400, "InvalidParameter", f"DefaultRunProperties.RunPolicy.{field} is required in a run policy.")
    if policy["Type"] not in ("Daily", "Weekend"):
        raise DwError(400, "InvalidParameter", f"RunPolicy.Type must be Daily or Weekend, got {policy['Type']!r}.")
    for field in ("StartTime", "EndTime"):
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d", str(policy[field])):
            raise DwError(400, "InvalidParameter", f"RunPolicy.{field} must be hh:mm:ss, got {policy[field]!r}.")
    return policy.get("Immediately") is True


def _manual_workflow_roots(state: dict, pid: int, workflow_id: int, roots: list[dict]) -> list[dict]:
    """ManualWorkflow: WorkflowId names the manually triggered workflow; RootTaskIds optional (F-DW24-19)."""
    members = [n for n in state["nodes"].values() if n["project_id"] == pid and n.get("deployed", True)
               and int(n.get("workflow_id", 1)) == workflow_id]
    if workflow_id == 1 or not members:
        raise DwError(400, "Invalid.Workflow.NotExists", f"The manually triggered workflow {workflow_id} does not exist.")
    for n in roots:
        if n not in members:
            raise DwError(400, "InvalidParameter", f"The task {task_id_of(n)} is not in workflow {workflow_id}.")
    return roots or members


def _create_workflow_instances(params, ctx):
    """F-DW24-2: SupplementData (backfill, WorkflowId 1), ManualWorkflow and Manual runs; creation is
    asynchronous; a run whose time is ahead waits for it unless RunPolicy.Immediately (F-DW24-17)."""
    state, now = ctx.state["dataworks"], ctx.now_ms()
    pid, name, kind = integer(params, "ProjectId"), required(params, "Name"), required(params, "Type")
    workflow_id = integer(params, "WorkflowId")
    project(state, pid)
    env = _env(params, "EnvType")
    props = json_param(params, "DefaultRunProperties", dict)
    if not boolean(params, "AutoStartEnabled", True):
        raise DwError(400, "InvalidParameter", "The emulator starts runs on creation only (AutoStartEnabled=true).")
    immediate = _run_now(props)
    roots = [_task(state, int(t)) for t in props.get("RootTaskIds") or []]
    if kind == "ManualWorkflow":
        roots = _manual_workflow_roots(state, pid, workflow_id, roots)
    if not roots:
        raise DwError(400, "InvalidParameter", "DefaultRunProperties.RootTaskIds is required for this Type.")
    for n in roots:
        if n["project_id"] != pid:
            raise DwError(400, "Invalid.Task.NotExists", f"The task {task_id_of(n)} is not in project {pid}.")
    if kind == "SupplementData":
        for field in ("Mode", "Parallelism", "Analysis"):
            if props.get(field) in (None, ""):
                raise DwError(400, "InvalidParameter", f"DefaultRunProperties.{field} is required for SupplementData.")
        days, dag_type = _bizdates(json_param(params, "Periods", dict, must=True)), "SUPPLY_DATA"
    elif kind == "Manual":
        days, dag_type = [m.parse_bizdate(m.bizdate_str(now - m.DAY_MS))], "MANUAL_TASK"
    elif kind == "ManualWorkflow":
        periods = json_param(params, "Periods", dict)
        days = _bizdates(periods) if periods else [m.parse_bizdate(m.bizdate_str(now - m.DAY_MS))]
        dag_type = "MANUAL"
    else:
        raise DwError(400, "InvalidParameter",
                      f"The emulator runs Type SupplementData, ManualWorkflow or Manual, got {kind!r}.")
    task_params = {str(k): str(v) for k, v in json_param(params, "TaskParameters", dict).items()}
    dag_ids = []
    for day in days:
        dag = runs._new_dag(state, name=name, dag_type=dag_type, n=roots[0], env=env, bizdate_ms=day, now_ms=now)
        dag["type_v2024"] = kind
        for n in roots:
            # without RunPolicy.Immediately a run whose time is still ahead waits for it, as on 2020-05-18
            runs._new_instance(state, dag, n, day, now, param_values=task_params.get(str(task_id_of(n))),
                               wait_until_ms=0 if immediate else runs.cyc_ms(n, day))
        dag_ids.append(dag["dag_id"])
    operation_id = str(uuid.uuid4())
    state.setdefault("operations", {})[operation_id] = {"create_ms": now, "dag_ids": dag_ids}
    ctx.save()
    return _reply(OperationId=operation_id)


def _get_create_result(params, ctx):
    """F-DW24-3: Creating until the instances exist (as long as they take to appear), then Created."""
    state = ctx.state["dataworks"]
    op = state.get("operations", {}).get(required(params, "OperationId"))
    if op is None:
        raise DwError(400, "InvalidParameter", f"The operation {params['OperationId']} does not exist.")
    if op["create_ms"] + m.APPEAR_MS > ctx.now_ms():
        return _reply(Result={"Status": "Creating"})
    dags = [state["dags"][str(d)] for d in op["dag_ids"]]
    return _reply(Result={"Status": "Created", "WorkflowInstanceIds": op["dag_ids"],
                          "WorkflowTaskInstanceIds": [i for d in dags for i in d["instance_ids"]],
                          "UnifiedWorkflowInstanceIds": op["dag_ids"]})


def _visible_dags(state: dict, now: int):
    return (d for d in state["dags"].values() if d["create_ms"] + m.APPEAR_MS <= now)


def _list_workflow_instances(params, ctx):
    """F-DW24-4: BizDate (ms) required; Name matches fuzzily (a substring here)."""
    state, now = ctx.state["dataworks"], ctx.now_ms()
    pid, bizdate = integer(params, "ProjectId"), integer(params, "BizDate")
    project(state, pid)
    env = _ENVS.get(params.get("EnvType") or "", None)
    rows = [workflow_instance_view(d, state, now) for d in _visible_dags(state, now)
            if d["project_id"] == pid and d["bizdate_ms"] == bizdate and (env is None or d["project_env"] == env)
            and (not params.get("Name") or params["Name"] in d["name"])
            and (not params.get("Type") or _wf_type(d) == params["Type"])]
    rows.sort(key=lambda r: r["Id"], reverse=True)
    return _page(rows, params, 100, "WorkflowInstances")


def _get_workflow_instance(params, ctx):
    state, wid = ctx.state["dataworks"], integer(params, "Id")
    dag = state["dags"].get(str(wid))
    if dag is None or dag["create_ms"] + m.APPEAR_MS > ctx.now_ms():
        raise DwError(400, "Invalid.WorkflowInstance.NotExists", f"The workflow instance {wid} does not exist.")
    return _reply(WorkflowInstance=workflow_instance_view(dag, state, ctx.now_ms()))


def _instance(state: dict, iid: int, now: int) -> tuple[dict, dict, dict]:
    inst = state["instances"].get(str(iid))
    if inst is None or inst["create_ms"] + m.APPEAR_MS > now:
        raise DwError(400, "Invalid.TaskInstance.NotExists", f"The task instance {iid} does not exist.")
    return inst, state["nodes"][str(inst["node_id"])], state["dags"][str(inst["dag_id"])]


def _list_task_instances(params, ctx):
    """F-DW24-5: ProjectId and Bizdate (ms of the day's 00:00 in UTC+8) required; PageSize up to 500."""
    state, now = ctx.state["dataworks"], ctx.now_ms()
    pid, bizdate = integer(params, "ProjectId"), integer(params, "Bizdate")
    project(state, pid)
    env = _ENVS.get(params.get("ProjectEnv") or "", None)
    want = {k: integer(params, k, 0) for k in ("TaskId", "WorkflowInstanceId", "Id")}
    rows = []
    for inst in state["instances"].values():
        n = state["nodes"][str(inst["node_id"])]
        dag = state["dags"][str(inst["dag_id"])]
        if (n["project_id"] != pid or inst["bizdate_ms"] != bizdate or inst["create_ms"] + m.APPEAR_MS > now
                or (env and inst["project_env"] != env) or (want["TaskId"] and task_id_of(n) != want["TaskId"])
                or (want["WorkflowInstanceId"] and dag["dag_id"] != want["WorkflowInstanceId"])
                or (want["Id"] and inst["instance_id"] != want["Id"])
                or (params.get("WorkflowInstanceType") and _wf_type(dag) != params["WorkflowInstanceType"])):
            continue
        view = task_instance_view(inst, n, dag, now, detail=False)
        if not params.get("Status") or view["Status"] == params["Status"]:
            rows.append(view)
    sort = params.get("SortBy") or "Id Desc"
    field, _, order = sort.partition(" ")
    rows.sort(key=lambda r: (r.get(field) or 0, r["Id"]), reverse=order != "Asc")
    return _page(rows, params, 500, "TaskInstances")


def _get_task_instance(params, ctx):
    inst, n, dag = _instance(ctx.state["dataworks"], integer(params, "Id"), ctx.now_ms())
    return _reply(TaskInstance=task_instance_view(inst, n, dag, ctx.now_ms()))


def _get_task_instance_log(params, ctx):
    """F-DW24-7: the whole log so far of one run (RunNumber, default the latest)."""
    inst, n, _ = _instance(ctx.state["dataworks"], integer(params, "Id"), ctx.now_ms())
    number = integer(params, "RunNumber", len(inst["runs"]))
    if not 1 <= number <= len(inst["runs"]):
        raise DwError(400, "InvalidParameter", f"RunNumber {number} does not exist for instance {inst['instance_id']}.")
    return _reply(TaskInstanceLog=m.render_log(inst, inst["runs"][number - 1], n, ctx.now_ms()))


def _batch(params, ctx, change) -> web.Response:
    """F-DW24-8: per-id SuccessInfo; HTTP 200 even when an id could not be changed."""
    state, now = ctx.state["dataworks"], ctx.now_ms()
    info = {}
    for iid in json_param(params, "Ids", list, must=True):
        try:
            inst, _, _ = _instance(state, int(iid), now)
            info[str(iid)] = {"Success": True, "Message": change(state, inst, now) or ""}
        except DwError as e:
            info[str(iid)] = {"Success": False, "Message": e.message}
    ctx.save()
    return _reply(SuccessInfo=info)


def _stop(state, inst, now):
    status, _ = m.status_at(inst["runs"][-1], now)
    if status in m.TERMINAL:
        raise DwError(400, "Invalid.Instance.Status", f"The instance has already finished ({camel(status)}).")
    inst["runs"][-1]["stopped_ms"] = now


def _rerun(state, inst, now):
    status, _ = m.status_at(inst["runs"][-1], now)
    if status not in m.TERMINAL:
        raise DwError(400, "Invalid.Instance.Status", f"The instance is {camel(status)}; only a finished one reruns.")
    inst["runs"].append(m.new_run(runs._next_id(state), now, state["nodes"][str(inst["node_id"])]))


def _list_projects(params, ctx):
    rows = [{"Id": p["project_id"], "Name": p["project_name"], "DisplayName": p["project_name"],
             "Status": "Available", "PaiTaskEnabled": True}
            for p in sorted(ctx.state["dataworks"]["projects"].values(), key=lambda p: p["project_id"])]
    return _page(rows, params, 100, "Projects")


ACTIONS = {
    "GetTask": _get_task,
    "GetNode": _get_node,
    "CreateWorkflowInstances": _create_workflow_instances,
    "GetCreateWorkflowInstancesResult": _get_create_result,
    "ListWorkflowInstances": _list_workflow_instances,
    "GetWorkflowInstance": _get_workflow_instance,
    "ListTaskInstances": _list_task_instances,
    "GetTaskInstance": _get_task_instance,
    "GetTaskInstanceLog": _get_task_instance_log,
    "StopTaskInstances": lambda p, c: _batch(p, c, _stop),
    "RerunTaskInstances": lambda p, c: _batch(p, c, _rerun),
    "ListProjects": _list_projects,
}


async def handle(request: web.Request, params: dict[str, str], ctx: Ctx, action: str) -> web.Response:
    from . import dataworks  # the 2020 module owns advance() (outputs of finished runs) and dispatch()

    return dataworks.dispatch(ACTIONS, params, ctx, action)


from .dataworks_v2024_refusal import legacy_refusal  # noqa: E402,F401  (server.py calls it from here)
