"""Emulated DataWorks OpenAPI 2020-05-18: runs of deployed nodes, their instances, logs and outputs.

State (``ctx.state["dataworks"]``, JSON-able, keys are strings): ``projects``, ``nodes`` (the
scenario's node specs), ``dags``, ``instances`` (each with ``runs``: one per InstanceHistory entry)
and ``next_id``. Statuses are never stored: ``dataworks_model`` derives them from a run's start time,
its phase lengths and the emulator clock.

Error codes for missing things are DataWorks-style; only Invalid.Tenant.ProjectNotExists is confirmed
by the SDK docs. Invalid.Tenant.NodeNotExists / InstanceNotExists / DagNotExists / FlowNotExists and
Invalid.Instance.Status (stop/restart in the wrong state) are plausible stand-ins.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import dataworks_model as m
from . import dataworks_runs as runs
from .common import Ctx, acs_error, json_response, new_request_id
from .dataworks_params import DwError, instance, integer, node, paging, project, project_env
from .dataworks_params import ok as _ok
from .state import object_bytes, split_oss_uri

FIRST_ID = 11_700_000_001  # ids look like real ones and never collide across DAGs, instances, histories


def _node_spec(raw: dict, project_id: int) -> dict:
    program_type = raw.get("program_type", "PAI_STUDIO")
    spec = dict(raw)
    spec.update(
        node_id=int(raw["node_id"]), node_name=raw.get("node_name", f"node_{raw['node_id']}"),
        project_id=project_id, program_type=program_type,
        file_type=int(raw.get("file_type", 10 if program_type == "ODPS_SQL" else 1117)),
        scheduler_type=str(raw.get("scheduler_type", "NORMAL")).upper(),
        cron_express=raw.get("cron_express", "00 00 00 * * ?"),
        outcome=str(raw.get("outcome", "SUCCESS")).upper(),
        status_path=m.parse_status_path(raw.get("status_path"), f"node {raw['node_id']} status_path"),
    )
    kinds = [*m.TASK_TYPE_CODES, *m.CALENDAR_TASK_TYPES]
    if raw.get("task_type") is not None and str(raw["task_type"]).upper() not in kinds:
        raise ValueError(f"node {raw['node_id']} task_type must be one of {', '.join(kinds)}")
    # deployed: false -> a Data Studio node never deployed: GetNode names no TaskId, no task exists (F-DW24-10)
    spec["deployed"] = bool(raw.get("deployed", True))
    spec["task_type"] = str(raw["task_type"]).upper() if raw.get("task_type") else None
    return spec


def init_state(scenario: dict) -> dict:
    section = scenario.get("dataworks") or {}
    state: dict[str, Any] = {"projects": {}, "nodes": {}, "dags": {}, "instances": {}, "next_id": FIRST_ID,
             "enum_suffixes": bool(section.get("enum_suffixes"))}
    for spec in section.get("projects", []):
        pid = int(spec["project_id"])
        state["projects"][str(pid)] = {
            "project_id": pid, "project_name": spec.get("project_name", f"project_{pid}"),
            "edition": spec.get("edition", "enterprise"),
            "data_studio": str(spec.get("data_studio", "legacy")).lower(),  # "new": OpenAPI 2024-05-18 only
        }
        for raw in spec.get("nodes", []):
            node = _node_spec(raw, pid)
            state["nodes"][str(node["node_id"])] = node
    for node in list(state["nodes"].values()):
        for past in node.get("history", []):
            runs.add_past_run(state, node, past)
    return state


def _write_outputs(ctx: Ctx, inst: dict, node: dict) -> None:
    yyyymmdd = m.bizdate_str(inst["bizdate_ms"], "%Y%m%d")
    for out in node.get("outputs", []):
        bucket, key = split_oss_uri(out["uri"].replace("{bizdate}", yyyymmdd))
        ctx.store.create_bucket(bucket)
        ctx.store.put(bucket, key, object_bytes(out), out.get("content_type"))


def advance(ctx: Ctx) -> None:
    """Write the outputs of every run that has succeeded by now, once per run (recorded in state)."""
    with ctx.lock:
        state = ctx.state["dataworks"]
        now, changed = ctx.now_ms(), False
        for inst in state["instances"].values():
            for run in inst["runs"]:
                # a finished run never changes again (stop needs a live run, restart appends a new one)
                if run.get("settled") or m.timeline(run)["end"] > now:
                    continue
                if not run["outputs_written"] and m.ran_successfully(run, now):
                    _write_outputs(ctx, inst, state["nodes"][str(inst["node_id"])])
                    run["outputs_written"] = True
                run["settled"] = changed = True
        if changed:
            ctx.save()


def _get_dag(params, ctx):
    state, env = ctx.state["dataworks"], project_env(params)
    dag_id = integer(params, "DagId")
    dag = state["dags"].get(str(dag_id))
    if dag is None or dag["project_env"] != env:
        raise DwError(400, "Invalid.Tenant.DagNotExists", f"The DAG {dag_id} does not exist in {env}.")
    now = ctx.now_ms()
    insts = [state["instances"][str(i)] for i in dag["instance_ids"]]
    timelines = [(m.status_at(i["runs"][-1], now), m.timeline(i["runs"][-1])) for i in insts]
    status = m.dag_status([s for (s, _), _ in timelines])
    starts = [t["BeginWaitTimeTime"] for (_, t), _ in timelines if t["BeginWaitTimeTime"]]
    return _ok({
        "DagId": dag["dag_id"], "Name": dag["name"], "Status": status,
        "Type": m.suffixed(dag["type"], m.DAG_TYPE_CODES, state.get("enum_suffixes", False)),
        "ProjectId": dag["project_id"], "Bizdate": dag["bizdate_ms"], "Gmtdate": dag["gmtdate_ms"],
        "CreateTime": dag["create_ms"], "CreateUser": dag.get("create_user", ""), "OpSeq": dag["dag_id"],
        "StartTime": min(starts) if starts else None,
        "FinishTime": max(tl["end"] for _, tl in timelines) if status in m.TERMINAL else None,
        "ModifyTime": max([dag["create_ms"]] + starts),
    })


def _list_instances(params, ctx):
    state, env = ctx.state["dataworks"], project_env(params)
    pid = integer(params, "ProjectId")
    project(state, pid)
    number, size = paging(params)
    dag_id, node_id = integer(params, "DagId", 0), integer(params, "NodeId", 0)
    bizdate = _bizdate_param(params, "Bizdate")
    begin, end = _bizdate_param(params, "BeginBizdate"), _bizdate_param(params, "EndBizdate")
    now, rows = ctx.now_ms(), []
    for inst in state["instances"].values():
        n = state["nodes"][str(inst["node_id"])]
        if (inst["project_env"] != env or n["project_id"] != pid
                or inst["create_ms"] + m.APPEAR_MS > now  # not generated yet: callers must poll
                or (dag_id and inst["dag_id"] != dag_id) or (node_id and inst["node_id"] != node_id)
                or (params.get("NodeName") and n["node_name"] != params["NodeName"])
                or (params.get("ProgramType") and n["program_type"] != params["ProgramType"])
                or (params.get("Owner") and n.get("owner", "") != params["Owner"])
                or (params.get("BizName") and n.get("biz_name", "") != params["BizName"])
                or (bizdate is not None and inst["bizdate_ms"] != bizdate)
                or (begin is not None and inst["bizdate_ms"] < begin)
                or (end is not None and inst["bizdate_ms"] > end)):
            continue
        view = m.instance_view(inst, n, now, state.get("enum_suffixes", False))
        # the filter and the answer compare by name: SUCCESS matches SUCCESS(6) (F-DW-3)
        if params.get("Status") and view["Status"].split("(")[0] != params["Status"].split("(")[0]:
            continue
        # ListInstances rows lack GetInstance's Owner and PeriodNumber (reference examples, F-DW-5)
        rows.append({k: v for k, v in view.items() if k not in ("Owner", "PeriodNumber")})
    key = "CreateTime" if params.get("OrderBy") == "CREATE_TIME_DESC" else "InstanceId"
    rows.sort(key=lambda r: (r[key], r["InstanceId"]), reverse=True)
    page = rows[(number - 1) * size: number * size]
    return _ok({"Instances": page, "PageNumber": number, "PageSize": size, "TotalCount": len(rows)})


def _bizdate_param(params: dict, name: str) -> int | None:
    if not params.get(name):
        return None
    try:
        return m.parse_bizdate(params[name])
    except ValueError:
        raise DwError(400, "InvalidParameter", f"The parameter {name} must look like yyyy-MM-dd HH:mm:ss.") from None


def _get_instance(params, ctx):
    state = ctx.state["dataworks"]
    inst = instance(state, integer(params, "InstanceId"), project_env(params))
    return _ok(m.instance_view(inst, state["nodes"][str(inst["node_id"])], ctx.now_ms(),
                               state.get("enum_suffixes", False)))


def _get_instance_log(params, ctx):
    state = ctx.state["dataworks"]
    inst = instance(state, integer(params, "InstanceId"), project_env(params))
    history_id = integer(params, "InstanceHistoryId", 0)
    chosen = [r for r in inst["runs"] if r["history_id"] == history_id] if history_id else inst["runs"][-1:]
    if not chosen:
        raise DwError(400, "InvalidParameter",
                      f"The InstanceHistoryId {history_id} does not belong to instance {inst['instance_id']}.")
    n = state["nodes"][str(inst["node_id"])]
    return _ok(m.render_log(inst, chosen[0], n, ctx.now_ms()))


def _list_instance_history(params, ctx):
    state = ctx.state["dataworks"]
    inst = instance(state, integer(params, "InstanceId"), project_env(params))
    n, now = state["nodes"][str(inst["node_id"])], ctx.now_ms()
    entries = [m.history_view(inst, n, run, now, state.get("enum_suffixes", False)) for run in inst["runs"]]
    return json_response({"RequestId": new_request_id(), "Success": True, "Instances": entries})  # F-DW-5


def node_view(n: dict, repeatability_as_bool: bool) -> dict:
    rep = bool(n.get("repeatability", True))
    return {
        "NodeId": n["node_id"], "NodeName": n["node_name"], "ProgramType": n["program_type"],
        "FileType": n["file_type"], "SchedulerType": n["scheduler_type"], "CronExpress": n["cron_express"],
        "ProjectId": n["project_id"], "OwnerId": n.get("owner", ""), "Description": n.get("description", ""),
        "ParamValues": n.get("param_values", ""), "Priority": int(n.get("priority", 1)),
        "Repeatability": rep if repeatability_as_bool else str(rep).lower(),
        "RepeatInterval": 0, "RepeatMode": 1 if rep else 0,
        "ResGroupIdentifier": n.get("res_group", "default"), "ResGroupName": n.get("res_group", "default"),
        "BusinessId": int(n.get("business_id", 0)), "RelatedFlowId": int(n.get("business_id", 0)),
        "FileId": n["node_id"], "FileVersion": 1, "Connection": n.get("connection", ""),
        "BaselineId": 0, "DqcType": 1, "DqcDescription": "",
    }


def _get_node(params, ctx):
    project_env(params)  # checked only: nodes are deployed to both environments
    return _ok(node_view(node(ctx.state["dataworks"], integer(params, "NodeId")), False))


def _list_nodes(params, ctx):
    state = ctx.state["dataworks"]
    project_env(params)
    pid = integer(params, "ProjectId")
    project(state, pid)
    number, size = paging(params)
    filters = {"NodeName": "node_name", "Owner": "owner", "BizName": "biz_name",
               "ProgramType": "program_type", "SchedulerType": "scheduler_type"}
    rows = [
        node_view(n, True) for n in sorted(state["nodes"].values(), key=lambda n: n["node_id"])
        if n["project_id"] == pid and all(
            not params.get(p) or (params[p] in str(n.get(f, "")) if p == "NodeName" else params[p] == n.get(f))
            for p, f in filters.items())
    ]
    page = rows[(number - 1) * size: number * size]
    return _ok({"Nodes": page, "PageNumber": number, "PageSize": size, "TotalCount": len(rows)})


def _list_projects(params, ctx):
    # ListProjects answers with PageResult (no Data/Success); the provider's connection test calls it.
    number, size = paging(params)
    rows = [{"ProjectId": p["project_id"], "ProjectName": p["project_name"], "ProjectStatusCode": "AVAILABLE",
             "ProjectStatus": "AVAILABLE"} for p in sorted(ctx.state["dataworks"]["projects"].values(),
                                                           key=lambda p: p["project_id"])]
    page = {"PageNumber": number, "PageSize": size, "TotalCount": len(rows),
            "ProjectList": rows[(number - 1) * size: number * size]}
    return json_response({"RequestId": new_request_id(), "PageResult": page})


ACTIONS = {
    "ListProjects": _list_projects,
    "RunCycleDagNodes": runs.run_cycle_dag_nodes,
    "RunManualDagNodes": runs.run_manual_dag_nodes,
    "RunSmokeTest": runs.run_smoke_test,
    "StopInstance": runs.stop_instance,
    "RestartInstance": runs.restart_instance,
    "GetDag": _get_dag,
    "ListInstances": _list_instances,
    "GetInstance": _get_instance,
    "GetInstanceLog": _get_instance_log,
    "ListInstanceHistory": _list_instance_history,
    "GetNode": _get_node,
    "ListNodes": _list_nodes,
}


async def handle(request: web.Request, params: dict[str, str], ctx: Ctx, action: str) -> web.Response:
    return dispatch(ACTIONS, params, ctx, action)


def dispatch(actions: dict, params: dict[str, str], ctx: Ctx, action: str) -> web.Response:
    """One action of either DataWorks API, on the state advanced to now; a DwError is its error answer."""
    fn = actions.get(action)
    if fn is None:
        return acs_error(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
    with ctx.lock:
        advance(ctx)
        try:
            return fn(params, ctx)
        except DwError as e:
            return acs_error(e.status, e.code, e.message)

