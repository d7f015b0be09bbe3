"""EAS service groups and traffic weights: ReleaseService, DescribeGroup, the group endpoint.

docs/cloud-fidelity.md, "EAS traffic splitting and canary releases" (rows F-TRF-*):

- A service joins the group its config names in ``metadata.group`` (F-TRF-2); without one it is
  alone in a group named after itself. Groups are not stored: they are derived from the members,
  so a group disappears with its last member (F-TRF-1).
- ``ReleaseService`` sets a member's ``TrafficState`` (``standalone``/``grouping``) and ``Weight``
  ([-1, 1000], F-TRF-3). The change takes effect ``eas.traffic_seconds`` (default 1) later;
  DescribeService shows the values in effect (F-TRF-5), which is what a client waits on.
- A group has a ``TrafficMode`` (F-TRF-9): ``auto`` (the default, and what a group not listed in
  the scenario's ``eas.groups`` has) splits the group's traffic over its Running ``grouping``
  members by their instance counts, whatever their weights; ``customized`` by the weights.
  ``UpdateGroup`` (``PUT /api/v2/groups/{ClusterId}/{GroupName}``, body ``TrafficMode``) sets it;
  ``DescribeGroup`` reports it. ``standalone`` members get no group traffic in either mode.
- The group endpoint ``/api/predict/<group>`` sends each request to one Running ``grouping``
  member: in ``customized`` with a positive weight, with probability weight / sum of those
  weights (F-TRF-4); in ``auto`` with probability instances / sum of their instances. The
  choice is a pure function of (``eas.traffic_seed``, group, request number), so a test sees the
  same sequence on every run. ``/_emulator/state`` shows, per group, the split in effect and how
  many requests each member got (``state["eas"]["traffic"]``).
"""

from __future__ import annotations

import hashlib
import json

from aiohttp import web

from . import eas_state as S
from .common import acs_error, json_response, new_request_id

GROUPS_PREFIX = "/api/v2/groups"
STATES = ("standalone", "grouping")
TRAFFIC_MODES = ("auto", "customized")  # the UpdateGroup reference's enumeration (F-TRF-9)
DEFAULT_TRAFFIC_MODE = "auto"
DEFAULT_TRAFFIC_SECONDS = 1.0


def group_of(svc: dict) -> str:
    """The group a service is in: its current config's ``metadata.group``, else its own name."""
    cur = S.get_version(svc, svc["current"])["config"] if svc["current"] else {}
    meta = m if isinstance(m := cur.get("metadata"), dict) else {}
    group = meta.get("group")
    return group if isinstance(group, str) and group else svc["name"]


def traffic(svc: dict, now: float) -> dict:
    """{"state", "weight"} in effect at ``now``; settles a pending ReleaseService that is due."""
    current = svc.setdefault("traffic", {"state": "grouping", "weight": 100})
    pending = svc.get("traffic_pending")
    if pending and now >= pending["at"]:
        current.update(state=pending["state"], weight=pending["weight"])
        svc["traffic_pending"] = None
    return current


def members(services: dict, group: str) -> list[dict]:
    return sorted((s for s in services.values() if group_of(s) == group), key=lambda s: s["name"])


def groups_of(eas: dict) -> dict:
    """{group: {"traffic_mode"}} of the groups whose mode was set (scenario or UpdateGroup)."""
    return eas.setdefault("groups", {})


def traffic_mode(eas: dict, group: str) -> str:
    return (groups_of(eas).get(group) or {}).get("traffic_mode", DEFAULT_TRAFFIC_MODE)


def init_groups(eas_scenario: dict) -> dict:
    """The scenario's ``eas.groups``: ``[{name, traffic_mode}]``; a wrong mode fails at start."""
    groups = {}
    for i, spec in enumerate(eas_scenario.get("groups") or []):
        mode = spec.get("traffic_mode", DEFAULT_TRAFFIC_MODE)
        if not isinstance(spec.get("name"), str) or mode not in TRAFFIC_MODES:
            raise ValueError(f"eas.groups[{i}]: give a name and a traffic_mode in {TRAFFIC_MODES}, got {spec!r}")
        groups[spec["name"]] = {"traffic_mode": mode}
    return groups


def split(services: dict, group: str, now: float, mode: str = DEFAULT_TRAFFIC_MODE) -> dict[str, float]:
    """Share of the group endpoint's requests per member at ``now`` (only members that can serve):
    by weight in ``customized`` mode, by instance count in ``auto`` mode."""
    eligible = {}
    for svc in members(services, group):
        t, serving = traffic(svc, now), S.serving_version(svc, now)
        if t["state"] != "grouping" or serving is None:
            continue
        share = t["weight"] if mode == "customized" else S.total_instances(S.get_version(svc, serving)["config"])
        if share > 0:
            eligible[svc["name"]] = share
    total = sum(eligible.values())
    return {name: w / total for name, w in eligible.items()} if total else {}


def _draw(seed, group: str, n: int) -> float:
    digest = hashlib.sha256(f"{seed}/{group}/{n}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def route(ctx, services: dict, group: str) -> dict | None:
    """The member that answers the group's next request (None: no member can), counted in the state."""
    now = ctx.now()
    shares = split(services, group, now, traffic_mode(ctx.state["eas"], group))
    record = ctx.state["eas"].setdefault("traffic", {}).setdefault(group, {"requests": 0, "routed": {}})
    if not shares:
        return None
    x, acc, chosen = _draw((ctx.scenario.get("eas") or {}).get("traffic_seed", 0), group, record["requests"]), 0.0, None
    for name, share in shares.items():
        acc += share
        chosen = name
        if x < acc:
            break
    record["requests"] += 1
    record["routed"][chosen] = record["routed"].get(chosen, 0) + 1
    ctx.save()
    return services[chosen]


def refresh(ctx) -> None:
    """Settle due traffic changes and publish each group's split under state["eas"]["traffic"]."""
    with ctx.lock:
        eas = ctx.state.get("eas")
        if not eas:
            return
        services, now = eas.get("services") or {}, ctx.now()
        for svc in services.values():
            S.settle_initial(svc, ctx.store, now)
        groups = {group_of(s) for s in services.values()}
        record = eas.setdefault("traffic", {})
        for group in groups:
            entry = record.setdefault(group, {"requests": 0, "routed": {}})
            entry["members"] = {s["name"]: dict(traffic(s, now)) for s in members(services, group)}
            entry["traffic_mode"] = traffic_mode(eas, group)
            entry["split"] = split(services, group, now, entry["traffic_mode"])
        for gone in set(record) - groups:
            del record[gone]


def service_fields(svc: dict, now: float) -> dict:
    """What DescribeService/ListServices add for traffic: ServiceGroup, TrafficState, Weight."""
    t = traffic(svc, now)
    return {"ServiceGroup": group_of(svc), "TrafficState": t["state"], "Weight": t["weight"]}


def joined(svc: dict, services: dict) -> None:
    """A service that joins a group with other members gets no group traffic until released (F-TRF-2)."""
    others = [s for s in members(services, group_of(svc)) if s is not svc]
    if others and "traffic" not in svc:
        svc["traffic"] = {"state": "standalone", "weight": 0}


def release(request, body, ctx, services, svc) -> web.Response:
    """ReleaseService: PUT /api/v2/services/{ClusterId}/{ServiceName}/release {Weight, TrafficState}."""
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return acs_error(400, "InvalidParameter", "The request body is not valid JSON")
    weight, state = parsed.get("Weight"), parsed.get("TrafficState")
    if weight is None and state is None:
        return acs_error(400, "InvalidParameter", "ReleaseService needs Weight or TrafficState")
    if weight is not None and (not isinstance(weight, int) or isinstance(weight, bool) or not -1 <= weight <= 1000):
        return acs_error(400, "InvalidParameter.Weight", f"Weight must be an integer in [-1, 1000], got {weight!r}")
    if state is not None and state not in STATES:
        return acs_error(400, "InvalidParameter.TrafficState", f"TrafficState must be one of {STATES}, got {state!r}")
    now = ctx.now()
    current = traffic(svc, now)
    pending = svc.get("traffic_pending") or {"state": current["state"], "weight": current["weight"]}
    delay = S.start_seconds((ctx.scenario.get("eas") or {}).get("traffic_seconds", DEFAULT_TRAFFIC_SECONDS))
    svc["traffic_pending"] = {"state": state or pending["state"],
                              "weight": pending["weight"] if weight is None else weight, "at": now + delay}
    traffic(svc, now)  # a zero delay takes effect at once
    S.add_event(svc, now, "Normal", "Releasing",
                f"[{svc['name']}] traffic {svc['traffic_pending'] or svc['traffic']}")
    ctx.save()
    shown = svc["traffic_pending"] or svc["traffic"]
    message = (f"Releasing service [{svc['name']}] in region [{ctx.region_id}] with weight [{shown['weight']}], "
               f"service status: [{S.status(svc, now)[0]}]")
    return json_response({"RequestId": new_request_id(), "Message": message})


def handle_group(request: web.Request, body: bytes, ctx, services: dict, action: str) -> web.Response | None:
    """DescribeGroup / ListGroups / UpdateGroup; None if the path is not a group path."""
    raw = request.raw_path.split("?", 1)[0]
    if not (raw == GROUPS_PREFIX or raw.startswith(GROUPS_PREFIX + "/")):
        return None
    parts = [p for p in raw[len(GROUPS_PREFIX):].split("/") if p]
    names = sorted({group_of(s) for s in services.values()})
    base = f"{request.scheme}://{request.host}"
    if action == "ListGroups" and not parts:
        groups = [group_object(ctx, services, n, base) for n in names]
        return json_response({"RequestId": new_request_id(), "Groups": groups, "TotalCount": len(groups),
                              "PageNumber": 1, "PageSize": max(len(groups), 1)})
    if action == "DescribeGroup" and len(parts) == 2:
        if parts[0] != ctx.region_id or parts[1] not in names:
            return acs_error(404, "InvalidGroup.NotFound", f"Group [{parts[-1]}] in region [{ctx.region_id}] not found")
        return json_response({**group_object(ctx, services, parts[1], base), "RequestId": new_request_id()})
    if action == "UpdateGroup" and len(parts) == 2:
        if parts[0] != ctx.region_id or parts[1] not in names:
            return acs_error(404, "InvalidGroup.NotFound", f"Group [{parts[-1]}] in region [{ctx.region_id}] not found")
        return update_group(body, ctx, parts[1])
    return acs_error(404, "InvalidAction.NotFound", f"Unsupported action {action} at {request.path}")


def group_object(ctx, services: dict, name: str, base: str) -> dict:
    first = members(services, name)[0]
    endpoint = f"{base}/api/predict/{name}"
    return {"Name": name, "ClusterId": ctx.region_id, "AccessToken": group_token(services, name),
            "InternetEndpoint": endpoint, "IntranetEndpoint": endpoint, "QueueService": "",
            "TrafficMode": traffic_mode(ctx.state["eas"], name),  # auto | customized (F-TRF-9)
            "CreateTime": S.iso(first["created"]), "UpdateTime": S.iso(ctx.now())}


def group_token(services: dict, name: str) -> str:
    """The group endpoint's token: the token of its first member by name (F-TRF-7, unverified)."""
    return members(services, name)[0]["token"]


def update_group(body: bytes, ctx, name: str) -> web.Response:
    """UpdateGroup: only ``TrafficMode`` is modelled; the answer is ``{RequestId}`` as documented."""
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return acs_error(400, "InvalidParameter", "The request body is not valid JSON")
    mode = parsed.get("TrafficMode") if isinstance(parsed, dict) else None
    if mode not in TRAFFIC_MODES:
        return acs_error(400, "InvalidParameter.TrafficMode",
                         f"TrafficMode must be one of {TRAFFIC_MODES}, got {mode!r}")
    groups_of(ctx.state["eas"]).setdefault(name, {})["traffic_mode"] = mode
    ctx.save()
    return json_response({"RequestId": new_request_id()})
