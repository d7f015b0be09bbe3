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
# F-DW-3: the numbers the references write after each name (SDK ListInstances response comments).
STATUS_CODES = {"NOT_RUN": 1, "WAIT_TIME": 2, "WAIT_RESOURCE": 3, "RUNNING": 4, "FAILURE": 5, "SUCCESS": 6,
                "CHECKING": 7, "CHECKING_CONDITION": 8, "WAIT_TRIGGER": 9}
DAG_TYPE_CODES = {"DAILY": 0, "MANUAL": 1, "SMOKE_TEST": 2, "SUPPLY_DATA": 3, "MANUAL_FLOW": 4,
                  "BUSINESS_PROCESS_DAG": 5}
TASK_TYPE_CODES = {"NORMAL": 0, "MANUAL": 1, "PAUSE": 2, "SKIP": 3, "SKIP_UNCHOOSE": 4, "SKIP_CYCLE": 5,
                   "CONDITION_UNCHOOSE": 6, "REALTIME_DEPRECATED": 7}
TASK_TYPES = {name: f"{name}({code})" for name, code in TASK_TYPE_CODES.items()}  # always suffixed (GetInstance)
# 2024-05-18 TriggerRecurrence kinds with no 2020 TaskType (F-DW24-18): the scheduling calendar pauses
# (FAILURE without running) or skips (dry run, SUCCESS) the day; 2020 shows them as PAUSE/SKIP (unverified).
CALENDAR_TASK_TYPES = {"PAUSE_CALENDAR": "PAUSE(2)", "SKIP_CALENDAR": "SKIP(3)"}
TASK_TYPES.update(CALENDAR_TASK_TYPES)
# F-DW-4: task types the scheduler sets to SUCCESS (dry run) or FAILURE (frozen) without running them
DRY_RUN = ("SKIP", "SKIP_UNCHOOSE", "SKIP_CYCLE", "CONDITION_UNCHOOSE", "REALTIME_DEPRECATED", "SKIP_CALENDAR")
FROZEN = ("PAUSE", "PAUSE_CALENDAR")
NEVER = 2**62  # the end of a path that stays in some status for good


def suffixed(name: str, codes: dict[str, int], on: bool) -> str:
    """``SUPPLY_DATA(3)`` when ``on`` (scenario ``dataworks.enum_suffixes``), else the bare name."""
    return f"{name}({codes[name]})" if on and name in codes else name


def parse_status_path(raw, where: str) -> list[list] | None:
    """A node's ``status_path``: [[status, ms | None], ...] ending in SUCCESS/FAILURE or a ``stay`` step.

    Steps are ``"STATUS"`` (RUNNING lasts the node's run_seconds, others 1 s) or
    ``{status, seconds}`` / ``{status, stay: true}``.
    """
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{where} must be a non-empty list of statuses, got {raw!r}")
    steps = []
    for step in raw:
        status = step if isinstance(step, str) else (step or {}).get("status") if isinstance(step, dict) else None
        if status not in STATUS_CODES:
            raise ValueError(f"{where}: {step!r} is not a DataWorks instance status ({', '.join(STATUS_CODES)})")
        if isinstance(step, dict) and step.get("stay"):
            ms = None
        elif isinstance(step, dict) and "seconds" in step:
            ms = int(float(step["seconds"]) * 1000)
        else:
            ms = -1  # the default length, decided per run (RUNNING: run_seconds)
        steps.append([status, ms])
    last = steps[-1]
    if last[0] not in TERMINAL and last[1] is not None:
        raise ValueError(f"{where} must end with SUCCESS or FAILURE, or stay in its last status ({{stay: true}})")
    if any(s in TERMINAL for s, _ in steps[:-1]):
        raise ValueError(f"{where}: SUCCESS/FAILURE can only be the last step")
    return steps


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
    path = None
    if node.get("status_path") and run_seconds is None and outcome is None:
        path = [[s, (run_ms if s == "RUNNING" else 1000) if ms == -1 else ms] for s, ms in node["status_path"]]
    return {
        "path": path,
        "history_id": history_id,
        "start_ms": start_ms,
        "wait_until_ms": wait_until_ms,
        "wait_time_ms": wait_ms,
        "wait_res_ms": wait_ms,
        "run_ms": run_ms,
        "outcome": (outcome or node.get("outcome") or "SUCCESS").upper(),
        "scheduler_type": node.get("task_type") or node.get("scheduler_type", "NORMAL"),
        "stopped_ms": None,
        "outputs_written": False,
    }


def _path_steps(run: dict) -> list[tuple[str, int]]:
    """(status, start ms) of each step of a scenario status_path, the terminal one last."""
    t, out = run["start_ms"] + APPEAR_MS, []
    for status, ms in run["path"]:
        out.append((status, t))
        if ms is None:
            break
        t += ms
    return out


def _path_timeline(run: dict) -> dict:
    steps = _path_steps(run)
    first = lambda name: next((t for s, t in steps if s == name), None)  # noqa: E731
    status, t_last = steps[-1]
    done = status in TERMINAL
    return {"wait_time": first("WAIT_TIME"), "wait_res": first("WAIT_RESOURCE"), "running": first("RUNNING"),
            "end": t_last if done else NEVER, "final": status if done else None, "steps": steps}


def timeline(run: dict) -> dict:
    """The run's phase boundaries (ms) and its final status, ignoring the clock."""
    t_wait_time = run["start_ms"] + APPEAR_MS
    t_wait_res = max(t_wait_time + run["wait_time_ms"], run.get("wait_until_ms") or 0)
    sched = run["scheduler_type"]
    if sched in FROZEN or sched in DRY_RUN:
        # frozen / dry-run: decided when the scheduler would start it, nothing runs
        t = {"wait_time": t_wait_time, "wait_res": None, "running": None, "end": t_wait_res}
        t["final"] = "FAILURE" if sched in FROZEN else "SUCCESS"
    elif run.get("path"):
        t = _path_timeline(run)
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
    elif t.get("steps") and not t["stopped"]:
        status = [s for s, at in t["steps"] if at <= now_ms][-1] if reached(t["steps"][0][1]) else "NOT_RUN"
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
    if run["scheduler_type"] in FROZEN:
        entries.append((t["end"], f"Node is frozen ({run['scheduler_type']}): set to FAILURE without running"))
    elif run["scheduler_type"] in DRY_RUN:
        entries.append((t["end"], f"Node is a dry-run node ({run['scheduler_type']}): set to SUCCESS without running"))
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
    for status, at in t.get("steps") or []:
        if status not in ("WAIT_TIME", "WAIT_RESOURCE", "RUNNING") + TERMINAL:
            entries.append((at, f"Status {status}"))
    if t["final"] is not None:
        entries.append((t["end"], f"Instance {iid} finished with status {t['final']}"))
    return "".join(_line(ms, text) + "\n" for ms, text in entries if ms <= now_ms)


def instance_view(inst: dict, node: dict, now_ms: int, suffixes: bool = False) -> dict:
    """GetInstance / ListInstances ``Data`` for an instance (its latest run)."""
    run = inst["runs"][-1]
    status, times = status_at(run, now_ms)
    modify = max([inst["create_ms"]] + [v for v in times.values() if v is not None])
    return {
        "InstanceId": inst["instance_id"], "NodeId": node["node_id"], "NodeName": node["node_name"],
        "DagId": inst["dag_id"], "DagType": suffixed(inst["dag_type"], DAG_TYPE_CODES, suffixes),
        "Status": suffixed(status, STATUS_CODES, suffixes),
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


def history_view(inst: dict, node: dict, run: dict, now_ms: int, suffixes: bool = False) -> dict:
    """ListInstanceHistory ``Instances[]`` entry for one run."""
    status, times = status_at(run, now_ms)
    return {
        "InstanceHistoryId": run["history_id"], "InstanceId": inst["instance_id"],
        "NodeId": node["node_id"], "NodeName": node["node_name"], "DagId": inst["dag_id"],
        "DagType": suffixed(inst["dag_type"], DAG_TYPE_CODES, suffixes),
        "Status": suffixed(status, STATUS_CODES, suffixes), "Bizdate": inst["bizdate_ms"],
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
