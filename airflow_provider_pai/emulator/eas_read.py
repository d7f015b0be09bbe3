"""PAI-EAS read-only actions (Describe/List/Versions/Events/Endpoints) and helpers the writers share."""

from __future__ import annotations

import calendar
import json
import math
import time
from typing import Any

from aiohttp import web

from . import eas_state as S
from .common import acs_error, json_response, new_request_id


def base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def msg(ctx, name: str, what: str) -> str:
    return f"Service [{name}] in region [{ctx.region_id}] {what}"


def int_param(value: Any, name: str, default: int) -> int | web.Response:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        return acs_error(400, "InvalidParameter", f"{name} must be a positive integer, got {value!r}")
    return number


def page(request, items: list, number_key: str, default_size: int = 100):
    number = int_param(request.query.get(number_key), number_key, 1)
    size = int_param(request.query.get("PageSize"), "PageSize", default_size)
    if isinstance(number, web.Response):
        return number
    if isinstance(size, web.Response):
        return size
    return items[(number - 1) * size: number * size], number, size


def paged_response(request, rows: list, items_key: str) -> web.Response:
    """One page of ``rows`` in the PageNumber/PageSize/TotalCount envelope ListServices and ListServiceVersions share."""
    paged = page(request, rows, "PageNumber")
    if isinstance(paged, web.Response):
        return paged
    items, number, size = paged
    return json_response({"RequestId": new_request_id(), "PageNumber": number, "PageSize": size,
                          "TotalCount": len(rows), items_key: items})


def describe(request, body, ctx, services, svc) -> web.Response:
    obj = S.service_object(svc, ctx.now(), ctx.region_id, base_url(request))
    return json_response({**obj, "RequestId": new_request_id()})


def list_services(request, ctx, services) -> web.Response:
    now, q = ctx.now(), request.query
    objs = [S.service_object(s, now, ctx.region_id, base_url(request)) for s in services.values()]
    if q.get("ServiceName"):
        objs = [o for o in objs if o["ServiceName"] == q["ServiceName"]]
    if q.get("Filter"):
        objs = [o for o in objs if q["Filter"] in o["ServiceName"]]
    if q.get("GroupName"):
        objs = [o for o in objs if o["ServiceGroup"] == q["GroupName"]]
    if q.get("ServiceStatus"):
        objs = [o for o in objs if o["Status"] == q["ServiceStatus"]]
    sort = q.get("Sort") or "CreateTime"
    objs.sort(key=lambda o: (str(o.get(sort) or ""), o["ServiceName"]), reverse=q.get("Order", "desc") != "asc")
    return paged_response(request, objs, "Services")


def versions(request, body, ctx, services, svc) -> web.Response:
    rows = [{
        "BuildTime": S.iso(v["built"]),
        "ImageAvailable": "unknown" if v["ok"] is None else str(v["ok"]).lower(),
        "ImageId": v["version"],  # the model has no field for the version number; ImageId carries it
        "Message": v["error"] or f"version {v['version']} of {svc['name']}",
        "ServiceConfig": json.dumps({"name": svc["name"], **v["config"]}),
        "ServiceRunnable": "unknown" if v["ok"] is None else str(v["ok"]).lower(),
    } for v in svc["versions"]]
    return paged_response(request, rows, "Versions")


def events(request, body, ctx, services, svc) -> web.Response:
    now, q = ctx.now(), request.query
    events = sorted((e for e in svc["events"] if e["time"] <= now), key=lambda e: e["time"])
    if q.get("EventType"):
        events = [e for e in events if e["type"] == q["EventType"]]
    for key, keep in (("StartTime", lambda e, t: e >= t), ("EndTime", lambda e, t: e <= t)):
        if q.get(key):
            bound = parse_time(q[key])
            if bound is None:
                return acs_error(400, "InvalidParameter", f"{key} must be a UTC time like 2024-01-02 15:04:05")
            events = [e for e in events if keep(e["time"], bound)]
    # F-EAS-10: the order of Events is not documented; a scenario may answer newest first so
    # that clients which rely on an order show up in tests.
    if (ctx.state.get("eas") or {}).get("event_order") == "desc":
        events.reverse()
    rows = [{"Message": e["message"], "Reason": e["reason"], "Time": S.event_time(e["time"]), "Type": e["type"]}
            for e in events]
    paged = page(request, rows, "PageNum")
    if isinstance(paged, web.Response):
        return paged
    items, number, size = paged
    return json_response({"RequestId": new_request_id(), "PageNum": number, "TotalCount": len(rows),
                          "TotalPageNum": math.ceil(len(rows) / size), "Events": items})


def parse_time(value: str) -> float | None:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S"):
        try:
            return float(calendar.timegm(time.strptime(value, fmt)))
        except ValueError:
            continue
    return None


def endpoints(request, body, ctx, services, svc) -> web.Response:
    endpoint = f"{base_url(request)}/api/predict/{svc['name']}"
    return json_response({
        "RequestId": new_request_id(),
        "AccessToken": svc["token"],
        "Message": "",
        "Endpoints": [{"BackendId": svc["service_id"], "EndpointType": "DefaultGateway",
                       "InternetEndpoints": [endpoint], "IntranetEndpoints": [endpoint],
                       "PathType": "Prefix", "Port": request.url.port}],
    })
