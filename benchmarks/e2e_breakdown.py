"""Where the provider's own time goes in one ``airflow dags test`` of the demo flow: the output's
own timestamps (Airflow's structured log, microseconds), read per task.

Markers: ``[DAG TEST] starting task_id=X`` / ``end task task_id=X`` (the task's span, deferral
included); the first ``::endgroup::`` after ``Task started`` (``execute`` begins); the operators'
own lines "Started DataWorks run" and "UpdateService:" (the remote work was submitted); the
triggers' lines "RUNNING -> SUCCESS" and "Status=Running" (the end was noticed); "Pausing task as
DEFERRED", "running trigger in line" and "Trigger completed" (the deferral round trip). The remote
ends are the submission plus the emulator's simulated durations (its clock starts at the call).
"""

from __future__ import annotations

import re
from datetime import datetime

LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z \[\w+\s*\] (.*)$")


def events(output: str) -> list[tuple[float, str]]:
    out = []
    for line in output.splitlines():
        m = LINE.match(line)
        if m:
            out.append((datetime.fromisoformat(m.group(1)).timestamp(), m.group(2)))
    return out


def tasks(output: str) -> dict[str, list[tuple[float, str]]]:
    """Each task's events, from its ``[DAG TEST] starting`` line to its ``end task`` line."""
    out: dict[str, list[tuple[float, str]]] = {}
    current = None
    for t, text in events(output):
        m = re.match(r"\[DAG TEST\] starting task_id=(\S+)", text)
        if m:
            current = m.group(1)
            out[current] = []
        if current:
            out[current].append((t, text))
        if current and re.match(rf"\[DAG TEST\] end task task_id={re.escape(current)}\b", text):
            current = None
    return out


def _first(evs, pattern, after=None):
    return next((t for t, text in evs if re.search(pattern, text) and (after is None or t >= after)), None)


def execute_start(evs) -> float | None:
    started = _first(evs, r"^Task started")
    return _first(evs, r"^::endgroup::", after=started) if started else None


def spans(output: str) -> dict[str, float]:
    """Seconds per task span, and the flow from train's execute to report's end."""
    per = tasks(output)
    out = {f"task {k}": v[-1][0] - v[0][0] for k, v in per.items() if v}
    if "train" in per and "report" in per:
        out["flow (train execute start -> report end)"] = per["report"][-1][0] - execute_start(per["train"])
    return out


def provider_segments(output: str, train_s: float, deploy_s: float) -> dict[str, float]:
    """The provider's own segments on the flow's critical path (seconds)."""
    per = tasks(output)
    seg: dict[str, float] = {}
    train, wait, deploy = per.get("train", []), per.get("wait_for_training", []), per.get("deploy", [])
    if train:
        submit = _first(train, r"^Started DataWorks run")
        seg["train: execute start -> DataWorks run submitted (hook, SDK import, API probe, GetNode)"] = \
            submit - execute_start(train)
        seg["train: submitted -> task end (waiting for the instance id)"] = train[-1][0] - submit
        if wait:
            noticed = _first(wait, r"RUNNING -> SUCCESS|SUCCESS in")
            seg["wait_for_training: remote end -> end noticed (poll latency)"] = noticed - (submit + train_s)
            paused = _first(wait, r"Pausing task as DEFERRED")
            inline = _first(wait, r"running trigger in line")
            done = _first(wait, r"Trigger completed")
            if paused and inline:
                seg["wait_for_training: first poke and deferral (execute start -> trigger runs)"] = \
                    inline - execute_start(wait)
            if done:
                seg["wait_for_training: trigger event -> task end (resume, execute_complete)"] = wait[-1][0] - done
            seg["wait_for_training: end noticed -> task end"] = wait[-1][0] - noticed
    if deploy:
        submit = _first(deploy, r"^UpdateService: ")
        seg["deploy: execute start -> UpdateService (DescribeService, SDK import)"] = submit - execute_start(deploy)
        noticed = _first(deploy, r"Status=Running")
        if noticed:
            seg["deploy: rollout end -> end noticed (poll latency)"] = noticed - (submit + deploy_s)
            seg["deploy: end noticed -> task end (resume, execute_complete)"] = deploy[-1][0] - noticed
    for name in ("export_model", "test_service", "report"):
        if per.get(name):
            seg[f"{name}: execute start -> task end"] = per[name][-1][0] - execute_start(per[name])
    return seg


IMPORT = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)$")
SDK_PREFIXES = ("alibabacloud_", "oss2", "Tea", "darabonba")


def sdk_import_seconds(stderr: str) -> dict[str, float]:
    """Cumulative import time of each outermost SDK package, from ``PYTHONPROFILEIMPORTTIME=1`` output."""
    out: dict[str, float] = {}
    rows = [(int(c), len(indent), name) for m in map(IMPORT.match, stderr.splitlines()) if m
            for _, c, indent, name in [m.groups()]]
    # -X importtime prints children before their parent: an SDK module counts once, at its outermost entry.
    for i, (cum, depth, name) in enumerate(rows):
        if not name.startswith(SDK_PREFIXES):
            continue
        parent = next(((d, n) for _, d, n in rows[i + 1:] if d < depth), None)
        if parent and parent[1].startswith(SDK_PREFIXES):
            continue
        top = name.split(".")[0]
        out[top] = out.get(top, 0.0) + cum / 1e6
    return out
