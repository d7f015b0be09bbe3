"""PAI-EAS 2021-07-01 (ROA): services, versions, rollouts, events. Predict lives in eas_predict.py.

ACS3 signatures are verified by the server before ``handle`` is called. Paths are
``/api/v2/services[/{ClusterId}/{ServiceName}[/versions|version|events|instances|start|stop|restart|endpoints]]``,
ClusterId being the region id.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from aiohttp import web

from . import eas_instances as I
from . import eas_paths as P
from . import eas_read as R
from . import eas_state as S
from . import eas_traffic as T
from .common import acs_error, json_response, new_request_id
from .eas_predict import handle_predict  # noqa: F401  (server.py calls eas.handle_predict)

PREFIX = "/api/v2/services"


def init_state(scenario: dict) -> dict:
    """Scenario services at version 1, Running once the emulator first looks at them.

    ``eas.start_seconds`` (default 2) is how long services created through the API take to start;
    each scenario service may set its own ``start_seconds``.
    """
    services, eas = {}, scenario.get("eas") or {}
    default_start = S.start_seconds(eas.get("start_seconds", S.DEFAULT_START_SECONDS))
    defaults = eas.get("behaviour") or {}
    P.behaviour(defaults, None, default_start, "eas.behaviour")  # a malformed scenario fails at start
    for i, spec in enumerate(eas.get("services") or []):
        name = spec["name"]
        config = {"name": name, "model_path": spec.get("model_path", ""),
                  "processor": spec.get("processor", "json_linear")}
        if spec.get("metadata"):
            config["metadata"] = spec["metadata"]
        secs = S.start_seconds(spec.get("start_seconds", default_start))
        svc = S.new_service(name, spec.get("token") or S.new_token(), spec.get("labels"), None, secs,
                            P.behaviour(defaults, spec, secs, f"eas.services[{i}]"))
        S.add_version(svc, config, None)
        svc["current"] = 1
        svc["scenario_stopped"] = bool(spec.get("stopped"))
        services[name] = svc
    return {"services": services, "groups": T.init_groups(eas), "start_seconds": default_start, "behaviour": defaults,
            "event_order": eas.get("event_order", "asc")}


def _services(ctx) -> dict:
    eas = ctx.state.setdefault("eas", {"services": {}})
    changed, now = False, ctx.now()
    for name, svc in list(eas["services"].items()):
        changed |= S.settle_initial(svc, ctx.store, now)
        if svc.get("deleting") is not None and P.path_at(S.behaviour_of(svc)["delete_path"], svc["deleting"], now)[1]:
            del eas["services"][name]  # its delete path has ended: the service is gone
            changed = True
    if changed:
        ctx.save()
    return eas["services"]


def _path_parts(request: web.Request) -> list[str] | None:
    raw = request.raw_path.split("?", 1)[0]
    if not (raw == PREFIX or raw.startswith(PREFIX + "/")):
        return None
    return [unquote(p) for p in raw[len(PREFIX):].split("/") if p]


def _parse_config(body: bytes) -> dict | web.Response:
    try:
        config = json.loads(body or b"{}")
    except ValueError:
        return acs_error(400, "InvalidParameter", "The service description is not valid JSON")
    if not isinstance(config, dict):
        return acs_error(400, "InvalidParameter", "The service description must be a JSON object")
    return config


async def handle(request: web.Request, body: bytes, ctx, action: str) -> web.Response:
    if request.path.startswith(T.GROUPS_PREFIX):  # DescribeGroup, ListGroups, UpdateGroup (eas_traffic.py)
        with ctx.lock:
            answer = T.handle_group(request, body, ctx, _services(ctx), action)
        if answer is not None:  # None: a longer path that only starts like the groups' one
            return answer
    parts = _path_parts(request)
    if parts is None:
        return acs_error(404, "InvalidAction.NotFound", f"No EAS API at {request.method} {request.path}")
    with ctx.lock:
        services = _services(ctx)
        if action == "CreateService" and not parts:
            return _create(request, body, ctx, services)
        if action == "ListServices" and not parts:
            return R.list_services(request, ctx, services)
        if len(parts) < 2:
            return acs_error(404, "InvalidAction.NotFound", f"{action} does not take the path {request.path}")
        cluster, name, sub = parts[0], parts[1], "/".join(parts[2:])
        svc = services.get(name) if cluster == ctx.region_id else None
        if svc is None:
            return acs_error(404, "InvalidService.NotFound", R.msg(ctx, name, "not found"))
        handler = ACTIONS.get((action, sub))
        if handler is None:
            return acs_error(404, "InvalidAction.NotFound", f"Unsupported action {action} at {request.path}")
        return handler(request, body, ctx, services, svc)


def _create(request, body, ctx, services) -> web.Response:
    config = _parse_config(body)
    if isinstance(config, web.Response):
        return config
    name = config.get("name")
    if not isinstance(name, str) or not name:
        return acs_error(400, "InvalidParameter", "The service description needs a 'name'")
    if name in services:
        return acs_error(400, "InvalidService.AlreadyExists", R.msg(ctx, name, "already exists"))
    try:
        labels = json.loads(request.query.get("Labels") or "{}")
    except ValueError:
        return acs_error(400, "InvalidParameter", "Labels must be a JSON object string")
    token = config.get("token")
    if S.truthy(config.get("generate_token")) or not token:
        token = S.new_token()
    now = ctx.now()
    secs = S.start_seconds(ctx.state["eas"].get("start_seconds", S.DEFAULT_START_SECONDS))
    svc = S.new_service(name, token, labels if isinstance(labels, dict) else {}, now, secs,
                        P.behaviour(ctx.state["eas"].get("behaviour"), None, secs, "eas.behaviour"))
    # CreateService's Develop=true ("enter development mode") answers Status Developing (F-EAS-7)
    svc["develop"] = S.truthy(request.query.get("Develop"))
    S.add_version(svc, config, now)
    S.start_rollout(svc, ctx.store, 1, "Creating", now, None)
    services[name] = svc
    T.joined(svc, services)  # a new member of a group gets no group traffic until released
    ctx.save()
    obj = S.service_object(svc, now, ctx.region_id, R.base_url(request))
    keys = ("InternetEndpoint", "IntranetEndpoint", "Region", "ServiceId", "ServiceName", "Status")
    return json_response({"RequestId": new_request_id(), **{k: obj[k] for k in keys}})


def _update(request, body, ctx, services, svc) -> web.Response:
    patch = _parse_config(body)
    if isinstance(patch, web.Response):
        return patch
    if patch.get("name") not in (None, svc["name"]):
        return acs_error(400, "InvalidParameter", f"name {patch['name']!r} does not match the service {svc['name']!r}")
    update_type = request.query.get("UpdateType") or "merge"
    if update_type not in ("merge", "replace"):
        return acs_error(400, "InvalidParameter", f"UpdateType must be merge or replace, got {update_type!r}")
    now = ctx.now()
    current = S.get_version(svc, svc["current"])
    new = S.deep_merge(current["config"], patch) if update_type == "merge" else {**patch, "name": svc["name"]}
    # The seed re-sends its create JSON (generate_token: true) on every modify; the token must survive that.
    if patch.get("token"):
        svc["token"] = patch["token"]
    new = S.version_config(new)
    if new == current["config"]:
        message = R.msg(ctx, svc["name"], f"is not changed: the config equals version {svc['current']}")
    elif S.only_scaling_differs(current["config"], new):
        current["config"], svc["updated"] = new, now  # scaling adds no version
        svc["scaling"] = {"until": now + svc["start_seconds"], "instances": S.total_instances(new)}
        S.add_event(svc, now, "Normal", "Scaling", f"[{svc['name']}] scaled to {S.total_instances(new)} instance(s)")
        message = R.msg(ctx, svc["name"], "is scaling")
    else:
        previous = S.serving_version(svc, now)
        target = S.add_version(svc, new, now)
        S.start_rollout(svc, ctx.store, target, "Updating", now, previous)
        message = R.msg(ctx, svc["name"], f"is updating to version {target}")
    ctx.save()
    return json_response({"RequestId": new_request_id(), "Message": message})


def _update_version(request, body, ctx, services, svc) -> web.Response:
    parsed = _parse_config(body)
    if isinstance(parsed, web.Response):
        return parsed
    # F-EAS-8: "greater than 0 and smaller than the current version of the service" (API reference).
    version, current = parsed.get("Version"), svc["current"]
    if not isinstance(version, int) or isinstance(version, bool) or not 0 < version < current:
        return acs_error(400, "InvalidParameter",
                         f"Version must be greater than 0 and smaller than the current version {current} "
                         f"of service [{svc['name']}], got {version!r}")
    now = ctx.now()
    S.start_rollout(svc, ctx.store, version, "Updating", now, S.serving_version(svc, now))
    ctx.save()
    return json_response({"RequestId": new_request_id(), "Message": R.msg(ctx, svc["name"], "is starting")})


def _start(request, body, ctx, services, svc) -> web.Response:
    if not svc["stopped"]:
        return json_response({"RequestId": new_request_id(), "Message": R.msg(ctx, svc["name"], "is not stopped")})
    S.start_rollout(svc, ctx.store, svc["current"], "Starting", ctx.now(), None)
    ctx.save()
    return json_response({"RequestId": new_request_id(), "Message": R.msg(ctx, svc["name"], "is starting")})


def _restart(request, body, ctx, services, svc) -> web.Response:
    if svc["stopped"]:
        return acs_error(400, "InvalidService.Stopped", R.msg(ctx, svc["name"], "is stopped: start it instead"))
    now = ctx.now()  # a rolling restart: the instances serving now keep serving until the new ones are up
    S.start_rollout(svc, ctx.store, svc["current"], "Updating", now, S.serving_version(svc, now))
    ctx.save()
    return json_response({"RequestId": new_request_id(), "Message": R.msg(ctx, svc["name"], "is restarting")})


def _stop(request, body, ctx, services, svc) -> web.Response:
    now = ctx.now()
    if not svc["stopped"]:
        svc["events"] = [e for e in svc["events"] if e["time"] <= now]  # a pending rollout never finishes
        svc["stopped"], svc["stopping"], svc["updated"] = True, now, now  # Stopping, then Stopped
        S.add_event(svc, now, "Normal", "Stopped", f"[{svc['name']}] service stopped")
        ctx.save()
    return json_response({"RequestId": new_request_id(), "Message": R.msg(ctx, svc["name"], "is stopped")})


def _delete(request, body, ctx, services, svc) -> web.Response:
    if not S.behaviour_of(svc)["delete_path"]:
        del services[svc["name"]]
    elif svc.get("deleting") is None:  # F-EAS-7: Deleting (then gone, or DeleteFailed / stuck)
        svc["deleting"] = svc["updated"] = ctx.now()
    ctx.save()
    return json_response({"RequestId": new_request_id(), "Message": R.msg(ctx, svc["name"], "is deleting")})


ACTIONS = {
    ("UpdateService", ""): _update,
    ("DescribeService", ""): R.describe,
    ("DeleteService", ""): _delete,
    ("ListServiceVersions", "versions"): R.versions,
    ("UpdateServiceVersion", "version"): _update_version,
    ("DescribeServiceEvent", "events"): R.events,
    ("StartService", "start"): _start,
    ("StopService", "stop"): _stop,
    ("RestartService", "restart"): _restart,
    ("DescribeServiceEndpoints", "endpoints"): R.endpoints,
    ("ListServiceInstances", "instances"): I.list_instances,
    ("ReleaseService", "release"): T.release,
}
