"""DataWorks instance timelines: status, timestamps and log text derived from a run record and a clock.

Nothing here is stored as "current status": a run record holds when it started and how long each
phase lasts, so every answer is a pure function of the record and ``now_ms``. That makes the
emulator restart-safe and lets the control API advance the clock through a two-hour run at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

CST = timezone(timedelta(hours=8))  # DataWorks business dates are midnight in UTC+8
DAY_MS = 86_400_000
APPEAR_MS = 500  # instances show up in ListInstances a little after the run call, as on DataWorks
WAIT_CAP_MS = 3_000  # WAIT_TIME and WAIT_RESOURCE each last 10% of the run, at most this
TERMINAL = ("SUCCESS", "FAILURE")
TASK_TYPES = {"NORMAL": "NORMAL(0)", "MANUAL": "MANUAL(1)", "PAUSE": "PAUSE(2)", "SKIP": "SKIP(3)"}


def parse_bizdate(value: str) -> int:
    """``yyyy-MM-dd[ HH:mm:ss]`` -> epoch ms of that day's midnight in UTC+8; ValueError if malformed."""
    day = datetime.strptime(value.strip()[:10], "%Y-%m-%d")
    rest = value.strip()[10:].strip()
    if rest:
        datetime.strptime(rest, "%H:%M:%S")  # validate only: a business date is a day
    return int(day.replace(tzinfo=CST).timestamp() * 1000)


def bizdate_str(ms: int, fmt: str = "%Y-%m-%d") -> str:
    return datetime.fromtimestamp(ms / 1000, CST).strftime(fmt)


def new_run(history_id: int, start_ms: int, node: dict, *, wait_until_ms: int = 0,
            run_seconds: float | None = None, outcome: str | None = None) -> dict:
    """A run record (one InstanceHistory entry). Phase lengths are fixed at creation."""
    run_ms = int(float(node.get("run_seconds", 5) if run_seconds is None else run_seconds) * 1000)
    wait_ms = min(run_ms // 10, WAIT_CAP_MS)
    return {
        "history_id": history_id,
        "start_ms": start_ms,
        "wait_until_ms": wait_until_ms,
        "wait_time_ms": wait_ms,
        "wait_res_ms": wait_ms,
        "run_ms": run_ms,
        "outcome": (outcome or node.get("outcome") or "SUCCESS").upper(),
        "scheduler_type": node.get("scheduler_type", "NORMAL"),
        "stopped_ms": None,
        "outputs_written": False,
    }


def timeline(run: dict) -> dict:
    """The run's phase boundaries (ms) and its final status, ignoring the clock."""
    t_wait_time = run["start_ms"] + APPEAR_MS
    t_wait_res = max(t_wait_time + run["wait_time_ms"], run.get("wait_until_ms") or 0)
    sched = run["scheduler_type"]
    if sched in ("PAUSE", "SKIP"):
        # frozen / dry-run: decided when the scheduler would start it, nothing runs
        t = {"wait_time": t_wait_time, "wait_res": None, "running": None, "end": t_wait_res}
        t["final"] = "FAILURE" if sched == "PAUSE" else "SUCCESS"
    else:
        t_run = t_wait_res + run["wait_res_ms"]
        t = {"wait_time": t_wait_time, "wait_res": t_wait_res, "running": t_run,
             "end": t_run + run["run_ms"], "final": run["outcome"]}
    t["stopped"] = False
    stop = run.get("stopped_ms")
    if stop is not None and stop < t["end"]:
        t.update(end=stop, final="FAILURE", stopped=True)
        for phase in ("wait_time", "wait_res", "running"):
            if t[phase] is not None and t[phase] >= stop:
                t[phase] = None
    return t


def status_at(run: dict, now_ms: int) -> tuple[str, dict]:
    """(Status, timestamps reached by now) where timestamps map wire field -> epoch ms."""
    t = timeline(run)
    reached = lambda ms: ms is not None and ms <= now_ms  # noqa: E731
    times = {
        "BeginWaitTimeTime": t["wait_time"] if reached(t["wait_time"]) else None,
        "BeginWaitResTime": t["wait_res"] if reached(t["wait_res"]) else None,
        "BeginRunningTime": t["running"] if reached(t["running"]) else None,
        "FinishTime": t["end"] if reached(t["end"]) else None,
    }
    if reached(t["end"]):
        status = t["final"]
    elif reached(t["running"]):
        status = "RUNNING"
    elif reached(t["wait_res"]):
        status = "WAIT_RESOURCE"
    elif reached(t["wait_time"]):
        status = "WAIT_TIME"
    else:
        status = "NOT_RUN"
    return status, times


def ran_successfully(run: dict, now_ms: int) -> bool:
    """True once the run has SUCCEEDED after actually running (a SKIP dry run writes nothing)."""
    t = timeline(run)
    return t["final"] == "SUCCESS" and t["running"] is not None and t["end"] <= now_ms


def _line(ms: int, text: str) -> str:
    return f"{datetime.fromtimestamp(ms / 1000, CST).strftime('%Y-%m-%d %H:%M:%S')} INFO {text}"


def render_log(inst: dict, run: dict, node: dict, now_ms: int) -> str:
    """The whole log text visible at now_ms: header, node log lines spread over the running time, end."""
    t = timeline(run)
    iid, name = inst["instance_id"], node["node_name"]
    entries = [
        (run["start_ms"], "=" * 70),
        (run["start_ms"], f"Instance {iid} of node {name} ({node['node_id']}), "
                          f"type {node.get('program_type', 'PAI_STUDIO')}, "
                          f"bizdate {bizdate_str(inst['bizdate_ms'])}, DAG {inst['dag_id']}"),
    ]
    if t["wait_time"] is not None:
        entries.append((t["wait_time"], "Waiting for the scheduled time"))
    if run["scheduler_type"] == "PAUSE":
        entries.append((t["end"], "Node is frozen (PAUSE): set to FAILURE without running"))
    elif run["scheduler_type"] == "SKIP":
        entries.append((t["end"], "Node is a dry-run node (SKIP): set to SUCCESS without running"))
    if t["wait_res"] is not None:
        entries.append((t["wait_res"], f"Waiting for resources in group {node.get('res_group', 'default')}"))
    if t["running"] is not None:
        entries.append((t["running"], "Start running"))
        lines = list(node.get("log") or [])
        for i, text in enumerate(lines):
            at = t["running"] + run["run_ms"] * i // len(lines)
            if not t["stopped"] or at < t["end"]:
                entries.append((at, str(text)))
    if t["stopped"]:
        entries.append((t["end"], "Instance stopped by user"))
    entries.append((t["end"], f"Instance {iid} finished with status {t['final']}"))
    return "".join(_line(ms, text) + "\n" for ms, text in entries if ms <= now_ms)


def instance_view(inst: dict, node: dict, now_ms: int) -> dict:
    """GetInstance / ListInstances ``Data`` for an instance (its latest run)."""
    run = inst["runs"][-1]
    status, times = status_at(run, now_ms)
    modify = max([inst["create_ms"]] + [v for v in times.values() if v is not None])
    return {
        "InstanceId": inst["instance_id"], "NodeId": node["node_id"], "NodeName": node["node_name"],
        "DagId": inst["dag_id"], "DagType": inst["dag_type"], "Status": status,
        "Bizdate": inst["bizdate_ms"], "CycTime": inst["cyc_ms"], "CreateTime": inst["create_ms"],
        "ModifyTime": modify, **times,
        "TaskType": TASK_TYPES.get(run["scheduler_type"], "NORMAL(0)"),
        "TaskRerunTime": len(inst["runs"]) - 1, "ParamValues": inst.get("param_values", ""),
        "Owner": node.get("owner", ""), "CreateUser": node.get("owner", ""),
        "Priority": int(node.get("priority", 1)), "BaselineId": 0,
        "BusinessId": int(node.get("business_id", 0)), "RelatedFlowId": int(node.get("business_id", 0)),
        "Connection": node.get("connection", ""), "DqcType": 1, "DqcDescription": "",
        "Repeatability": bool(node.get("repeatability", True)), "RepeatInterval": 0, "PeriodNumber": 1,
    }


def history_view(inst: dict, node: dict, run: dict, now_ms: int) -> dict:
    """ListInstanceHistory ``Instances[]`` entry for one run."""
    status, times = status_at(run, now_ms)
    return {
        "InstanceHistoryId": run["history_id"], "InstanceId": inst["instance_id"],
        "NodeId": node["node_id"], "NodeName": node["node_name"], "DagId": inst["dag_id"],
        "DagType": inst["dag_type"], "Status": status, "Bizdate": inst["bizdate_ms"],
        "CycTime": inst["cyc_ms"], "CreateTime": run["start_ms"],
        "ModifyTime": max([run["start_ms"]] + [v for v in times.values() if v is not None]),
        "TaskType": TASK_TYPES.get(run["scheduler_type"], "NORMAL(0)"),
        "ErrorMessage": ("stopped by user" if timeline(run)["stopped"] else "")
        if status == "FAILURE" else "", **times,
    }


def dag_status(statuses: list[str]) -> str:
    """GetDag status (CREATED, RUNNING, FAILURE, SUCCESS) from its instances' statuses."""
    if not statuses or all(s == "NOT_RUN" for s in statuses):
        return "CREATED"
    if any(s not in TERMINAL for s in statuses):
        return "RUNNING"
    return "FAILURE" if "FAILURE" in statuses else "SUCCESS"
