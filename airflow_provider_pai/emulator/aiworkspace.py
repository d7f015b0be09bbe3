"""PAI AI Workspace 2021-02-04 (ROA): the model registry's model and version actions.

Paths and fields as the official SDK ``alibabacloud_aiworkspace20210204`` sends and reads them
(``client.py``; ``models/_model_version.py``, ``_get_model_response_body.py``): ``/api/v1/models``
[``/{ModelId}`` [``/versions`` [``/{VersionName}``]]]. ACS3 signatures are verified by the server
before ``handle`` is called. Rows F-AIW-* in docs/cloud-fidelity.md.

Scenario::

    aiworkspace:
      workspaces:
        - workspace_id: "86001"
          models:
            - model_name: churn
              versions:
                - {version_name: 0.1.0, uri: "oss://bucket.oss-cn-shanghai.aliyuncs.com/m/", approval_status: Approved,
                   inference_spec: {processor: json_linear}}
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from .common import acs_error, json_response, new_request_id

VERSION = "2021-02-04"
PREFIX = "/api/v1/models"
APPROVAL = ("Pending", "Approved", "Rejected")
METRICS_MAX_BYTES = 8192  # CreateModelVersionRequest.metrics: "cannot exceed 8,192 bytes"
# major.minor numeric, patch may start with a digit and hold letters and "_" (e.g. 2.3.4_beta).
VERSION_NAME = re.compile(r"^\d+\.\d+\.\d[0-9A-Za-z_]*$")
_AUTO = re.compile(r"^(\d+)\.(\d+)\.")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _labels(raw) -> list[dict]:
    return [{"Key": str(item.get("Key", item.get("key", ""))), "Value": str(item.get("Value", item.get("value", "")))}
            for item in raw or []]


def _version(spec: dict, now_ms: int) -> dict:
    return {"VersionName": spec["version_name"], "Uri": spec.get("uri", ""),
            "ApprovalStatus": spec.get("approval_status", "Pending"),
            "InferenceSpec": spec.get("inference_spec") or {}, "Metrics": spec.get("metrics") or {},
            "Labels": _labels(spec.get("labels")), "SourceType": spec.get("source_type", "Custom"),
            "SourceId": spec.get("source_id", ""), "FormatType": spec.get("format_type", ""),
            "FrameworkType": spec.get("framework_type", ""), "VersionDescription": spec.get("description", ""),
            "GmtCreateTime": now_ms, "GmtModifiedTime": now_ms}


def init_state(scenario: dict, now_ms: int) -> dict:
    """Workspaces, models and versions of the scenario; model ids are ``model-<n>``."""
    state: dict[str, Any] = {"workspaces": {}, "models": {}, "next_id": 1}
    for ws in (scenario.get("aiworkspace") or {}).get("workspaces") or []:
        ws_id = str(ws["workspace_id"])
        state["workspaces"][ws_id] = {"workspace_id": ws_id}
        for spec in ws.get("models") or []:
            model = _new_model(state, ws_id, spec["model_name"], spec.get("description", ""), now_ms,
                               spec.get("model_id"))
            for v in spec.get("versions") or []:
                model["versions"].append(_version(v, now_ms))
                now_ms += 1  # keep creation order visible in GmtCreateTime
    return state


def _new_model(state: dict, ws_id: str, name: str, description: str, now_ms: int, model_id: str | None = None) -> dict:
    if model_id is None:
        model_id = f"model-{state['next_id']:012d}"
        state["next_id"] += 1
    model = {"ModelId": model_id, "ModelName": name, "WorkspaceId": ws_id, "ModelDescription": description,
             "Accessibility": "PRIVATE", "GmtCreateTime": now_ms, "GmtModifiedTime": now_ms, "versions": []}
    state["models"][model_id] = model
    return model


def _state(ctx) -> dict:
    if "aiworkspace" not in ctx.state:  # data dirs seeded before the registry existed get it on first use
        ctx.state["aiworkspace"] = init_state(ctx.scenario, ctx.now_ms())
    return ctx.state["aiworkspace"]


def _render_version(v: dict) -> dict:
    return {**v, "GmtCreateTime": _iso(v["GmtCreateTime"]), "GmtModifiedTime": _iso(v["GmtModifiedTime"])}


def _render_model(m: dict) -> dict:
    out = {k: v for k, v in m.items() if k != "versions"}
    out["GmtCreateTime"], out["GmtModifiedTime"] = _iso(m["GmtCreateTime"]), _iso(m["GmtModifiedTime"])
    if m["versions"]:
        out["LatestVersion"] = _render_version(max(m["versions"], key=lambda v: v["GmtCreateTime"]))
    return out


def _page(query, total: list) -> tuple[list, web.Response | None]:
    try:
        number, size = int(query.get("PageNumber", 1)), int(query.get("PageSize", 10))
    except ValueError:
        return [], acs_error(400, "InvalidParameter", "PageNumber and PageSize must be integers")
    if number < 1 or size < 1:
        return [], acs_error(400, "InvalidParameter", "PageNumber and PageSize must be at least 1")
    return total[(number - 1) * size: number * size], None


def _body(raw: bytes) -> dict | web.Response:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return acs_error(400, "InvalidParameter", "The request body is not valid JSON")
    return body if isinstance(body, dict) else acs_error(400, "InvalidParameter", "The request body must be an object")


def _next_version_name(model: dict) -> str:
    """0.1.0 first, then the minor number of the highest numbered version plus one (F-AIW-4)."""
    numbered = [tuple(int(x) for x in m.groups()) for v in model["versions"] if (m := _AUTO.match(v["VersionName"]))]
    if not numbered:
        return "0.1.0"
    major, minor = max(numbered)
    return f"{major}.{minor + 1}.0"


def _create_model(ctx, st: dict, body: dict) -> web.Response:
    ws_id, name = str(body.get("WorkspaceId") or ""), body.get("ModelName")
    if not ws_id:
        return acs_error(400, "MissingParameter", "WorkspaceId is mandatory for this action.")
    if ws_id not in st["workspaces"]:
        return acs_error(404, "WorkspaceNotFound", f"The workspace {ws_id} does not exist.")
    if not isinstance(name, str) or not 1 <= len(name) <= 127:
        return acs_error(400, "InvalidParameter", "ModelName must be 1 to 127 characters in length.")
    if any(m["WorkspaceId"] == ws_id and m["ModelName"] == name for m in st["models"].values()):
        return acs_error(409, "ModelNameAlreadyExists", f"A model named {name} already exists in workspace {ws_id}.")
    model = _new_model(st, ws_id, name, body.get("ModelDescription") or "", ctx.now_ms())
    ctx.save()
    return json_response({"RequestId": new_request_id(), "ModelId": model["ModelId"]})


def _list_models(st: dict, query) -> web.Response:
    ws_id = query.get("WorkspaceId")
    if ws_id is not None and ws_id not in st["workspaces"]:
        return acs_error(404, "WorkspaceNotFound", f"The workspace {ws_id} does not exist.")
    found = [m for m in st["models"].values() if ws_id is None or m["WorkspaceId"] == ws_id]
    if query.get("ModelName"):  # a fuzzy match (F-AIW-6): callers check the exact name
        found = [m for m in found if query["ModelName"] in m["ModelName"]]
    found.sort(key=lambda m: m["GmtCreateTime"], reverse=query.get("Order", "ASC").upper() == "DESC")
    page, error = _page(query, found)
    if error is not None:
        return error
    return json_response({"RequestId": new_request_id(), "TotalCount": len(found),
                          "Models": [_render_model(m) for m in page]})


def _create_version(ctx, model: dict, body: dict) -> web.Response:
    uri = body.get("Uri")
    if not uri:
        return acs_error(400, "MissingParameter", "Uri is mandatory for this action.")
    if not (uri.startswith(("http://", "https://")) or re.match(r"^oss://[^/.]+\.[^/]+/", uri)):
        return acs_error(400, "InvalidParameter",
                         f"Uri {uri} is neither an HTTP(S) URL nor oss://<bucket>.<endpoint>/<object>.")
    status = body.get("ApprovalStatus") or "Pending"
    if status not in APPROVAL:
        return acs_error(400, "InvalidParameter", f"ApprovalStatus must be one of {', '.join(APPROVAL)}.")
    if len(json.dumps(body.get("Metrics") or {}, separators=(",", ":")).encode()) > METRICS_MAX_BYTES:
        return acs_error(400, "InvalidParameter", f"Metrics may not exceed {METRICS_MAX_BYTES} bytes when serialized.")
    name = body.get("VersionName") or _next_version_name(model)
    if not VERSION_NAME.match(name):
        return acs_error(400, "InvalidParameter",
                         f"VersionName {name} is not major.minor.patch (e.g. 1.1.0, 2.3.4_beta).")
    if any(v["VersionName"] == name for v in model["versions"]):
        return acs_error(409, "ModelVersionAlreadyExists",
                         f"Version {name} already exists in model {model['ModelId']}.")
    now = ctx.now_ms()
    model["versions"].append(_version({
        "version_name": name, "uri": uri, "approval_status": status, "inference_spec": body.get("InferenceSpec"),
        "metrics": body.get("Metrics"), "labels": body.get("Labels"), "source_type": body.get("SourceType", "Custom"),
        "source_id": body.get("SourceId", ""), "format_type": body.get("FormatType", ""),
        "framework_type": body.get("FrameworkType", ""), "description": body.get("VersionDescription", "")}, now))
    model["GmtModifiedTime"] = now
    ctx.save()
    return json_response({"RequestId": new_request_id(), "VersionName": name})


def _list_versions(model: dict, query) -> web.Response:
    found = list(model["versions"])
    if query.get("ApprovalStatus"):
        found = [v for v in found if v["ApprovalStatus"] == query["ApprovalStatus"]]
    if query.get("VersionName"):
        found = [v for v in found if v["VersionName"] == query["VersionName"]]
    if query.get("Label"):  # "the specified string in the key or value of their labels" (F-AIW-5)
        text = query["Label"]
        found = [v for v in found if any(text in lb["Key"] or text in lb["Value"] for lb in v["Labels"])]
    for field in ("SourceType", "SourceId", "FormatType", "FrameworkType"):
        if query.get(field):
            found = [v for v in found if v.get(field) == query[field]]
    found.sort(key=lambda v: v["GmtCreateTime"], reverse=query.get("Order", "ASC").upper() == "DESC")
    page, error = _page(query, found)
    if error is not None:
        return error
    return json_response({"RequestId": new_request_id(), "TotalCount": len(found),
                          "Versions": [_render_version(v) for v in page]})


def _update_version(ctx, version: dict, body: dict) -> web.Response:
    status = body.get("ApprovalStatus")
    if status is not None and status not in APPROVAL:
        return acs_error(400, "InvalidParameter", f"ApprovalStatus must be one of {', '.join(APPROVAL)}.")
    for wire, key in (("ApprovalStatus", "ApprovalStatus"), ("InferenceSpec", "InferenceSpec"),
                      ("Metrics", "Metrics"), ("VersionDescription", "VersionDescription"),
                      ("SourceType", "SourceType"), ("SourceId", "SourceId")):
        if body.get(wire) is not None:
            version[key] = body[wire]
    version["GmtModifiedTime"] = ctx.now_ms()
    ctx.save()
    return json_response({"RequestId": new_request_id()})


async def handle(request: web.Request, raw: bytes, ctx, action: str) -> web.Response:
    path = request.raw_path.split("?", 1)[0]
    if not (path == PREFIX or path.startswith(PREFIX + "/")):
        return acs_error(404, "InvalidAction.NotFound", f"No AI Workspace API at {request.method} {request.path}")
    parts = [unquote(p) for p in path[len(PREFIX):].split("/") if p]
    query = request.query
    with ctx.lock:
        st = _state(ctx)
        if not parts:
            if action == "CreateModel" and request.method == "POST":
                body = _body(raw)
                return body if isinstance(body, web.Response) else _create_model(ctx, st, body)
            if action == "ListModels" and request.method == "GET":
                return _list_models(st, query)
            return acs_error(404, "InvalidAction.NotFound", f"Unsupported action {action} at {request.path}")
        model = st["models"].get(parts[0])
        if model is None:
            return acs_error(404, "ModelNotFound", f"The model {parts[0]} does not exist.")
        if len(parts) == 1 and action == "GetModel":
            return json_response({"RequestId": new_request_id(), **_render_model(model)})
        if len(parts) == 2 and parts[1] == "versions":
            if action == "CreateModelVersion":
                body = _body(raw)
                return body if isinstance(body, web.Response) else _create_version(ctx, model, body)
            if action == "ListModelVersions":
                return _list_versions(model, query)
        if len(parts) == 3 and parts[1] == "versions":
            version = next((v for v in model["versions"] if v["VersionName"] == parts[2]), None)
            if version is None:
                return acs_error(404, "ModelVersionNotFound",
                                 f"The version {parts[2]} of model {parts[0]} does not exist.")
            if action == "GetModelVersion":
                return json_response({"RequestId": new_request_id(), **_render_version(version)})
            if action == "UpdateModelVersion":
                body = _body(raw)
                return body if isinstance(body, web.Response) else _update_version(ctx, version, body)
        return acs_error(404, "InvalidAction.NotFound", f"Unsupported action {action} at {request.path}")
