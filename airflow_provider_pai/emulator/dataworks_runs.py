"""Actions that start or change runs: RunCycleDagNodes, RunManualDagNodes, RunSmokeTest, Stop/RestartInstance.

Duplicates are allowed, as on DataWorks: asking twice starts a second (billable) run. Preventing that
is the provider's job, which is why every DAG keeps the Name it was started with (GetDag shows it).
"""

from __future__ import annotations

from . import dataworks_model as m
from .common import json_response, new_request_id
from .dataworks_params import (
    DwError,
    boolean,
    id_list,
    instance,
    integer,
    json_param,
    node,
    ok,
    project,
    project_env,
    required,
)


def _next_id(state: dict) -> int:
    state["next_id"] += 1
    return state["next_id"] - 1


def cyc_ms(n: dict, bizdate_ms: int) -> int:
    """Scheduled time of a daily node: the day after its business date at the cron's time of day."""
    parts = n.get("cron_express", "").split()
    try:
        sec, minute, hour = (int(p) for p in parts[:3])
    except ValueError:
        sec = minute = hour = 0
    return bizdate_ms + m.DAY_MS + ((hour * 60 + minute) * 60 + sec) * 1000


def _new_dag(state, *, name, dag_type, n, env, bizdate_ms, now_ms) -> dict:
    dag_id = _next_id(state)
    dag = {"dag_id": dag_id, "name": name, "type": dag_type, "project_id": n["project_id"], "project_env": env,
           "bizdate_ms": bizdate_ms, "gmtdate_ms": cyc_ms(n, bizdate_ms), "create_ms": now_ms, "instance_ids": []}
    state["dags"][str(dag_id)] = dag
    return dag


def _new_instance(state, dag, n, bizdate_ms, now_ms, *, wait_until_ms=0, param_values=None, dry_run=False) -> dict:
    iid = _next_id(state)
    run = m.new_run(_next_id(state), now_ms, n, wait_until_ms=wait_until_ms)
    if dry_run:  # excluded from a backfill: a dry-run instance that succeeds without running
        run["scheduler_type"] = "SKIP"
    inst = {"instance_id": iid, "node_id": n["node_id"], "dag_id": dag["dag_id"], "dag_type": dag["type"],
            "project_env": dag["project_env"], "bizdate_ms": bizdate_ms, "cyc_ms": cyc_ms(n, bizdate_ms),
            "create_ms": now_ms, "runs": [run],
            "param_values": n.get("param_values", "") if param_values is None else str(param_values)}
    state["instances"][str(iid)] = inst
    dag["instance_ids"].append(iid)
    return inst


def add_past_run(state: dict, n: dict, past: dict) -> None:
    """A finished daily run from the scenario's node ``history`` (so typical durations can be learnt)."""
    bizdate_ms = m.parse_bizdate(str(past["bizdate"]))
    start = cyc_ms(n, bizdate_ms) - m.APPEAR_MS
    dag = _new_dag(state, name=f"{n['node_name']}_{m.bizdate_str(bizdate_ms, '%Y%m%d')}", dag_type="DAILY",
                   n=n, env="PROD", bizdate_ms=bizdate_ms, now_ms=start)
    inst = _new_instance(state, dag, n, bizdate_ms, start)
    inst["runs"][0] = m.new_run(inst["runs"][0]["history_id"], start, n,
                                run_seconds=past.get("run_seconds"), outcome=past.get("outcome"))
    inst["runs"][0]["scheduler_type"] = "NORMAL"
    inst["runs"][0]["outputs_written"] = True  # past outputs are whatever the scenario's oss section holds


def _bizdate(params: dict, name: str) -> int:
    value = required(params, name)
    try:
        return m.parse_bizdate(value)
    except ValueError:
        raise DwError(400, "InvalidParameter", f"The parameter {name} must look like yyyy-MM-dd 00:00:00, got {value!r}.") from None


def _bizdates(params: dict, start_name: str, end_name: str) -> list[int]:
    start, end = _bizdate(params, start_name), _bizdate(params, end_name)
    if start > end:
        raise DwError(400, "InvalidParameter", f"{start_name} must not be later than {end_name}.")
    return list(range(start, end + 1, m.DAY_MS))


def _nodes_in_project(state: dict, ids: list[int], project_id: int) -> list[dict]:
    nodes = [node(state, i) for i in ids]
    for n in nodes:
        if n["project_id"] != project_id:
            raise DwError(400, "Invalid.Tenant.NodeNotExists",
                          f"The node {n['node_id']} does not exist in project {project_id}.")
    return nodes


def _node_params(params: dict, name: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in json_param(params, name).items()}


def run_cycle_dag_nodes(params, ctx):
    state = ctx.state["dataworks"]
    name, env = required(params, "Name"), project_env(params)
    root = node(state, integer(params, "RootNodeId"))
    include = _nodes_in_project(state, id_list(params, "IncludeNodeIds"), root["project_id"])
    exclude = set(id_list(params, "ExcludeNodeIds", must=False))
    bizdates = _bizdates(params, "StartBizDate", "EndBizDate")
    boolean(params, "Parallelism")  # required by the API; the emulator runs all business dates at once
    immediate = boolean(params, "StartFutureInstanceImmediately", False)
    node_params = _node_params(params, "NodeParams")
    if project(state, root["project_id"])["edition"] == "basic":
        raise DwError(403, "Forbidden.Access",
                      "RunCycleDagNodes needs DataWorks Enterprise Edition or higher; upgrade the edition.")
    now, dag_ids = ctx.now_ms(), []
    for bizdate_ms in bizdates:
        dag = _new_dag(state, name=name, dag_type="SUPPLY_DATA", n=root, env=env, bizdate_ms=bizdate_ms, now_ms=now)
        for n in include:
            # without StartFutureInstanceImmediately a future instance waits for its scheduled time
            _new_instance(state, dag, n, bizdate_ms, now, wait_until_ms=0 if immediate else cyc_ms(n, bizdate_ms),
                          param_values=node_params.get(str(n["node_id"])), dry_run=n["node_id"] in exclude)
        dag_ids.append(dag["dag_id"])
    ctx.save()
    return ok(dag_ids)


def run_manual_dag_nodes(params, ctx):
    state = ctx.state["dataworks"]
    project_name, flow, env = required(params, "ProjectName"), required(params, "FlowName"), project_env(params)
    proj = next((p for p in state["projects"].values() if p["project_name"] == project_name), None)
    if proj is None or integer(params, "ProjectId", proj["project_id"]) != proj["project_id"]:
        raise DwError(400, "Invalid.Tenant.ProjectNotExists", f"The project {project_name} does not exist.")
    if not params.get("BizDate") and (params.get("StartBizDate") or params.get("EndBizDate")):
        bizdates = _bizdates(params, "StartBizDate", "EndBizDate")
    else:
        bizdates = [_bizdate(params, "BizDate")]
    today_ms = m.parse_bizdate(m.bizdate_str(ctx.now_ms()))
    if bizdates[-1] > today_ms - m.DAY_MS:
        raise DwError(400, "InvalidParameter", "The business date of a manual workflow must be at most yesterday.")
    in_flow = [n for n in state["nodes"].values()
               if n["project_id"] == proj["project_id"] and n.get("flow_name") == flow]
    ids = id_list(params, "IncludeNodeIds", must=False)
    nodes = _nodes_in_project(state, ids, proj["project_id"]) if ids else in_flow
    if not nodes:
        raise DwError(400, "Invalid.Tenant.FlowNotExists", f"The manual workflow {flow} does not exist or has no nodes.")
    exclude = set(id_list(params, "ExcludeNodeIds", must=False))
    node_params = _node_params(params, "NodeParameters")
    now = ctx.now_ms()
    dag = _new_dag(state, name=flow, dag_type="MANUAL", n=nodes[0], env=env, bizdate_ms=bizdates[0], now_ms=now)
    for bizdate_ms in bizdates:
        for n in nodes:
            _new_instance(state, dag, n, bizdate_ms, now, param_values=node_params.get(str(n["node_id"])),
                          dry_run=n["node_id"] in exclude)
    ctx.save()
    return json_response({"DagId": dag["dag_id"], "RequestId": new_request_id()})


def run_smoke_test(params, ctx):
    state = ctx.state["dataworks"]
    bizdate_ms, name, env = _bizdate(params, "Bizdate"), required(params, "Name"), project_env(params)
    n = node(state, integer(params, "NodeId"))
    now = ctx.now_ms()
    dag = _new_dag(state, name=name, dag_type="SMOKE_TEST", n=n, env=env, bizdate_ms=bizdate_ms, now_ms=now)
    _new_instance(state, dag, n, bizdate_ms, now, param_values=params.get("NodeParams") or None)
    ctx.save()
    return ok(dag["dag_id"])


def stop_instance(params, ctx):
    state = ctx.state["dataworks"]
    inst = instance(state, integer(params, "InstanceId"), project_env(params))
    run, now = inst["runs"][-1], ctx.now_ms()
    status, _ = m.status_at(run, now)
    if status in m.TERMINAL:
        raise DwError(400, "Invalid.Instance.Status",
                      f"The instance {inst['instance_id']} has already finished ({status}) and cannot be stopped.")
    run["stopped_ms"] = now
    ctx.save()
    return ok(True)


def restart_instance(params, ctx):
    state = ctx.state["dataworks"]
    inst = instance(state, integer(params, "InstanceId"), project_env(params))
    now = ctx.now_ms()
    status, _ = m.status_at(inst["runs"][-1], now)
    if status not in m.TERMINAL:
        raise DwError(400, "Invalid.Instance.Status",
                      f"The instance {inst['instance_id']} is {status}; only a finished instance can be rerun.")
    inst["runs"].append(m.new_run(_next_id(state), now, state["nodes"][str(inst["node_id"])]))
    ctx.save()
    return ok(True)
