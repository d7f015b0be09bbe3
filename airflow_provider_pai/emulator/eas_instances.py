"""ListServiceInstances: the instances of a service, derived from its rollout and the clock (F-EAS-11).

Instance ``Status`` values are the API metadata's: Pending, Running, Failed, Succeeded, Terminating,
Unknown. While a rollout runs, the old version's instances are Running and Ready and the new ones
Pending; a new version whose model cannot load leaves its instances Failed (not Ready, restarted),
in both failed-update shapes, next to the old version's instances that keep serving.
"""

from __future__ import annotations

import hashlib

from aiohttp import web

from . import eas_state as S
from .common import json_response, new_request_id


def _instance(svc: dict, version: int, i: int, status: str, now: float, reason: str = "") -> dict:
    digest = hashlib.sha1(f"{svc['service_id']}/{version}".encode()).hexdigest()
    ready = 1 if status == "Running" else 0
    started = S.iso(svc["rollout"]["start"] if svc["rollout"] else now)
    return {
        "InstanceName": f"{svc['name']}-{digest[:10]}-{hashlib.sha1(f'{digest}/{i}'.encode()).hexdigest()[:5]}",
        "Status": status, "Reason": reason or status.upper(), "ReadyProcesses": ready, "TotalProcesses": 1,
        "RestartCount": 3 if status == "Failed" else 0,
        "LastState": [{"reason": reason, "exitCode": 1}] if status == "Failed" else [],
        "HostIP": "127.0.0.1", "HostName": "emulator", "InnerIP": "127.0.0.1", "InstancePort": 8080,
        "Namespace": svc["name"], "Role": "Standard", "ResourceType": "PublicResource", "IsSpot": False,
        "Isolated": False, "Zone": "emulator-a", "InstanceType": "ecs.c7.large", "StartAt": started,
        "StartTime": started, "CurrentAmount": 0.0, "OriginalAmount": 0.0,
        "IsLatest": version == len(svc["versions"]),
    }


def instances(svc: dict, now: float) -> list[dict]:
    r = svc["rollout"]
    if r is None or svc["stopped"] or svc.get("deleting") is not None:
        return []
    rows = []
    old = r["from"] if (not S.rollout_done(r, now) or not r["ok"]) else None
    if old is not None:
        n = S.total_instances(S.get_version(svc, old)["config"])
        rows += [_instance(svc, old, i, "Running", now) for i in range(n)]
    n = S.total_instances(S.get_version(svc, r["target"])["config"])
    if not S.rollout_done(r, now):
        status, reason = "Pending", "ContainerCreating"
    elif r["ok"]:
        status, reason = "Running", ""
    else:
        status, reason = "Failed", "FailedLoadModel"
    return rows + [_instance(svc, r["target"], i, status, now, reason) for i in range(n)]


def list_instances(request, body, ctx, services, svc) -> web.Response:
    from .eas_read import page

    q = request.query
    rows = instances(svc, ctx.now())
    if q.get("InstanceStatus"):
        rows = [row for row in rows if row["Status"] == q["InstanceStatus"]]
    if q.get("InstanceName"):
        rows = [row for row in rows if row["InstanceName"] == q["InstanceName"]]
    if q.get("Filter"):
        rows = [row for row in rows if q["Filter"] in row["InstanceName"] or q["Filter"] == row["InnerIP"]]
    paged = page(request, rows, "PageNumber")
    if isinstance(paged, web.Response):
        return paged
    items, number, size = paged
    return json_response({"RequestId": new_request_id(), "Instances": items, "PageNumber": number,
                          "PageSize": size, "TotalCount": len(rows)})
